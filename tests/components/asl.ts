/**
 * Amazon States Language checks for the tests, by the maintained `asl-validator` (JSON schemas
 * of every state type, JSONPath syntax, transitions to existing states, a reachable terminal
 * state, Map and Parallel branches that stay inside themselves), plus a walker over the states.
 */
import validator from "asl-validator";

type Json = Record<string, unknown>;

export interface AslState extends Json {
  Type: string;
}
export interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

/**
 * What asl-validator finds wrong with a definition, one "<ERROR CODE>: <message>" line each;
 * empty when it is valid. The validator annotates the states it reads, so it gets a copy.
 */
export function aslProblems(machine: unknown): string[] {
  const { isValid, errorsText } = validator(structuredClone(machine) as object);
  return isValid ? [] : errorsText("\n").split("\n");
}

/** Every state of a machine and of its nested machines, with its name. */
export function allStates(machine: AslMachine): [string, AslState][] {
  const out: [string, AslState][] = [];
  for (const [name, state] of Object.entries(machine.States)) {
    out.push([name, state]);
    const nested = (state.ItemProcessor ?? state.Iterator) as AslMachine | undefined;
    if (nested) out.push(...allStates(nested));
    for (const branch of (state.Branches as AslMachine[] | undefined) ?? []) out.push(...allStates(branch));
  }
  return out;
}
