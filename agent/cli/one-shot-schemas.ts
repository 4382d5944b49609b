// Side effect only, imported first by quick.ts; see there.
import * as z from "zod";

z.config({ jitless: true });
