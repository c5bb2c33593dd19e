/**
 * A structural check of an Amazon States Language (JSONPath) definition, enough to catch what
 * a hand-built definition gets wrong: StartAt and every transition name an existing state,
 * every state but Choice/Succeed/Fail either ends or goes on, every state is reachable, and
 * nested state machines (Map ItemProcessor / Iterator, Parallel branches) obey the same rules.
 * Returns the problems found (empty when none).
 */

type Json = Record<string, unknown>;

const TYPES = new Set(["Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]);

export interface AslState extends Json {
  Type: string;
}
export interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every Next a Choice rule (possibly nested under And/Or/Not) names; nested rules have none. */
function choiceTargets(state: Json): string[] {
  const targets: string[] = [];
  for (const rule of (state.Choices as unknown[]) ?? []) if (isObject(rule)) targets.push(String(rule.Next));
  if (typeof state.Default === "string") targets.push(state.Default);
  return targets;
}

function catchTargets(state: Json): string[] {
  return ((state.Catch as unknown[]) ?? []).filter(isObject).map((c) => String(c.Next));
}

export function aslProblems(machine: unknown, where = "$"): string[] {
  const problems: string[] = [];
  if (!isObject(machine)) return [`${where}: not an object`];
  const states = machine.States;
  if (typeof machine.StartAt !== "string") problems.push(`${where}: no StartAt`);
  if (!isObject(states) || Object.keys(states).length === 0) return [...problems, `${where}: no States`];
  const names = new Set(Object.keys(states));
  if (typeof machine.StartAt === "string" && !names.has(machine.StartAt)) {
    problems.push(`${where}: StartAt ${machine.StartAt} is not a state`);
  }
  const edges = new Map<string, string[]>();
  for (const [name, state] of Object.entries(states)) {
    const at = `${where}.States.${name}`;
    if (!isObject(state) || typeof state.Type !== "string" || !TYPES.has(state.Type)) {
      problems.push(`${at}: unknown Type`);
      continue;
    }
    let targets: string[] = [];
    if (state.Type === "Choice") {
      if (!Array.isArray(state.Choices) || state.Choices.length === 0) problems.push(`${at}: Choice without Choices`);
      if ("End" in state || "Next" in state) problems.push(`${at}: a Choice has neither End nor Next`);
      targets = choiceTargets(state);
    } else if (state.Type === "Succeed" || state.Type === "Fail") {
      if ("End" in state || "Next" in state) problems.push(`${at}: a terminal state has neither End nor Next`);
    } else {
      const hasNext = typeof state.Next === "string";
      const ends = state.End === true;
      if (hasNext === ends) problems.push(`${at}: needs exactly one of Next and End: true`);
      if (hasNext) targets.push(state.Next as string);
    }
    targets.push(...catchTargets(state));
    for (const t of targets) if (!names.has(t)) problems.push(`${at}: transition to unknown state ${t}`);
    edges.set(name, targets);
    if (state.Type === "Map") {
      const processor = state.ItemProcessor ?? state.Iterator;
      problems.push(...aslProblems(processor, `${at}.ItemProcessor`));
    }
    if (state.Type === "Parallel") {
      for (const [i, branch] of ((state.Branches as unknown[]) ?? []).entries()) {
        problems.push(...aslProblems(branch, `${at}.Branches[${i}]`));
      }
    }
  }
  // Reachability from StartAt.
  const seen = new Set<string>();
  const queue = typeof machine.StartAt === "string" ? [machine.StartAt] : [];
  while (queue.length > 0) {
    const n = queue.shift() as string;
    if (seen.has(n)) continue;
    seen.add(n);
    queue.push(...(edges.get(n) ?? []));
  }
  for (const n of names) if (!seen.has(n)) problems.push(`${where}.States.${n}: unreachable`);
  return problems;
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
