import { ApiError, call, describeError } from "../api.js";
import { h, setText } from "../dom.js";

/**
 * Sign-in with an operator token (`ship-hub token create --role operator`). The token is tried
 * against the API before it is kept, so a wrong one is refused here with the hub's reason.
 */
export function signInView(onSignedIn: (token: string) => void, ended?: string): HTMLElement {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const message = h(
    "p",
    { class: "form-error", role: "alert", id: "signin-error" },
    ended === undefined ? "" : `Signed out: the hub refused this session's token (${ended}). Sign in again.`,
  );
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "ship hub"),
    h("label", { for: "token" }, "Operator token"),
    input,
    h(
      "p",
      { class: "hint" },
      "Create one on the hub with ",
      h("code", {}, "ship-hub token create --role operator"),
      ". It is kept for this browser tab only.",
    ),
    submit,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    setText(message, "");
    try {
      await call("GET", "agents?limit=1", undefined, token);
      onSignedIn(token);
    } catch (error) {
      setText(
        message,
        error instanceof ApiError && error.status === 401
          ? `The hub refused this token: ${error.message}.`
          : error instanceof ApiError && error.status === 403
            ? "This token is not an operator token."
            : `Could not sign in: ${describeError(error)}`,
      );
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => input.focus());
  return h("main", { class: "signin-page" }, form);
}
