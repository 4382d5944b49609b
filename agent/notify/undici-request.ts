/** undici's request, imported statically so that bundlers keep its named export (see post-json.ts). */
export { request } from "undici";
