/**
 * A Logger that also tells the hub how an instruction is going: the pipeline logs `step X done`
 * with `{ step }`, which becomes a progress message (and the next step's start); warnings and
 * errors go along as log lines. The wrapped logger still gets every line.
 */
import type { Logger } from "../../shared/log.js";
import { stepName, UPDATE_STEPS } from "../pipeline/steps.js";
import { fitText } from "./merge-reports.js";

export interface ProgressEvent {
  step: string;
  percent?: number;
  message?: string;
}

const ORDER = UPDATE_STEPS.map(stepName);

export function progressLogger(base: Logger, emit: (event: ProgressEvent) => void): Logger {
  const forward = (level: "warn" | "error", msg: string) => {
    emit({ step: "log", message: fitText(`${level}: ${msg}`, 4000) });
  };
  const wrap = (log: Logger): Logger => ({
    debug: (msg, data) => log.debug(msg, data),
    info: (msg, data) => {
      log.info(msg, data);
      const step = data?.step;
      if (typeof step === "string" && msg === `step ${step} done`) {
        emit({ step, message: "done" });
        const next = ORDER[ORDER.indexOf(step) + 1];
        if (next !== undefined) emit({ step: next, message: "started" });
      }
    },
    warn: (msg, data) => {
      log.warn(msg, data);
      forward("warn", msg);
    },
    error: (msg, data) => {
      log.error(msg, data);
      forward("error", msg);
    },
    child: (bindings) => wrap(log.child(bindings)),
    enabled: (level) => log.enabled?.(level) ?? true,
    always: (level, msg, data) => {
      if (log.always) log.always(level, msg, data);
      else log[level](msg, data);
      if (level !== "info") forward(level, msg);
    },
  });
  return wrap(base);
}
