/**
 * A service's name, as `required_services` and `service_running()` take it: a systemd unit's name
 * (`postgresql`, `nginx.service`, `getty@tty1`), which is also the process or init script looked
 * for where no systemd runs. A name no unit can have was taken and then never found running, on
 * every host: `"my service"` or `"postgresql "` (a space copied in) read "no process named my
 * service is running", and `"postgresql redis"` (two services in one item) failed every run,
 * the services up, as if it were the host's fault and not the manifest's.
 */
import { nameRule } from "./name-rule.js";

/** systemd's limit (UNIT_NAME_MAX less its NUL) and the characters it allows in a unit's name. */
const MAX_UNIT_NAME = 255;

export const serviceName = nameRule(
  MAX_UNIT_NAME,
  /^[A-Za-z0-9:_.\\@-]+$/,
  "a systemd unit's name, of letters, digits and : _ . \\ @ - (no spaces: list two services as two items)",
);
