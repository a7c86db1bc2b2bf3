import { InvalidMatcherError } from "../matcher.ts";
import { asciiTable, type ClassExpr, contains, isEverything, singleCodePoint } from "./char-class.ts";
import { type Assertion, parseRegexp, type RegexpNode } from "./regexp-parser.ts";

/**
 * A linear-time regular expression engine: the parsed expression is compiled to a flat Thompson
 * automaton (arrays of opcodes), and run as a Pike VM without captures, i.e. a set of program
 * counters advanced together one code point at a time. A program counter is visited at most once
 * per input position (generation stamps), so a run costs O(input length × program size) whatever
 * the expression — there is no backtracking to blow up. We only answer `test`, so which of several
 * matches the standard would report (greediness, laziness, capture contents) does not matter.
 */

// Opcodes, with their operands x and y. Consuming instructions (CHAR, CLASS, ANY) continue at
// pc + 1 when they accept the code point.
const CHAR = 0; // accepts the code point x
const CLASS = 1; // accepts the code points of class x
const ANY = 2; // accepts every code point
const SPLIT = 3; // continues at both x and y
const JUMP = 4; // continues at x
const ASSERT = 5; // continues at pc + 1 when assertion x holds here
const MATCH = 6;

const ASSERT_START = 0;
const ASSERT_END = 1;
const ASSERT_WORD_BOUNDARY = 2;
const ASSERT_NOT_WORD_BOUNDARY = 3;

/**
 * Largest program accepted, in instructions. Bounds both memory and the per-code-point cost; a
 * URL pattern of the maximum length accepted by the hub compiles far below it unless counted
 * repetitions multiply its size.
 */
export const MAX_PROGRAM_SIZE = 10_000;

/** Largest step budget (larger ones are capped): steps stay small integers. */
const MAX_STEPS = 0x3fffffff;

/** Result of `run` when the step budget was exhausted before an answer. */
export const BUDGET_EXHAUSTED = -1;

/**
 * Run state shared by every program: the two thread lists, the closure worklist and the visit
 * stamps. Runs never nest, so one set serves them all; this keeps programs small (the hub holds
 * one per distinct pattern component) and compiling cheap. The generation counter only grows, so
 * stamps left by another program can never be mistaken for the current run's.
 */
const scratch = {
  current: new Int32Array(64),
  next: new Int32Array(64),
  stack: new Int32Array(3 * 64 + 2),
  marks: new Uint32Array(64),
  generation: 0,
};

function reserveScratch(size: number): void {
  if (scratch.marks.length >= size) return;
  const capacity = Math.max(size, 2 * scratch.marks.length);
  scratch.current = new Int32Array(capacity);
  scratch.next = new Int32Array(capacity);
  scratch.stack = new Int32Array(3 * capacity + 2);
  scratch.marks = new Uint32Array(capacity);
}

/** Largest generation before the stamps are cleared; small integers keep the VM's arithmetic fast. */
const MAX_GENERATION = 0x3fffffff;

export class RegexpProgram {
  /** Number of instructions. */
  readonly size: number;
  /**
   * Steps (instruction visits) taken by the last run: a deterministic measure of the work done,
   * at most (input length + 1) × (4 × size + 1).
   */
  steps = 0;
  /** Instruction pc is code[3 pc] (opcode), code[3 pc + 1] (x) and code[3 pc + 2] (y). */
  private readonly code: Int32Array;
  private readonly classes: readonly ClassExpr[];
  /** ASCII membership tables of the classes, shared between programs. */
  private readonly tables: readonly Uint8Array[];
  /** Whether the program starts with `^`, so that only position 0 can start a match. */
  private readonly anchored: boolean;
  /**
   * Anchored programs that start with literal text (`^\/books\/…`, as most URL patterns do) check
   * it with `startsWith` and start the automaton after it, at `afterPrefix`: until then the only
   * thread is the next literal character.
   */
  private readonly prefix: string;
  private readonly afterPrefix: number;

  constructor(code: Int32Array, classes: readonly ClassExpr[], anchored: boolean) {
    this.size = code.length / 3;
    this.code = code;
    this.classes = classes;
    this.tables = classes.map(asciiTable);
    this.anchored = anchored;
    let prefix = "";
    let pc = 0;
    if (anchored && code[0] === ASSERT && code[1] === ASSERT_START) {
      for (pc = 1; code[3 * pc] === CHAR; pc++) prefix += String.fromCodePoint(code[3 * pc + 1]!);
    }
    this.prefix = prefix;
    this.afterPrefix = pc;
  }

  /** Whether the expression matches somewhere in `input` (RegExp `test` semantics). */
  test(input: string): boolean {
    return this.run(input, MAX_STEPS) === 1;
  }

  /**
   * 1 when the expression matches somewhere in `input`, 0 when it does not, `BUDGET_EXHAUSTED`
   * when more than `budget` steps would be needed to tell.
   */
  run(input: string, budget: number): number {
    reserveScratch(this.size);
    const code = this.code;
    const tables = this.tables;
    const anchored = this.anchored;
    const { stack, marks } = scratch;
    let current = scratch.current;
    let next = scratch.next;
    const length = input.length;
    // A run uses at most length + 1 generations: restart the stamps if they could overflow.
    if (scratch.generation > MAX_GENERATION - length - 1) {
      marks.fill(0);
      scratch.generation = 0;
    }
    let generation = ++scratch.generation;
    const limit = Math.min(budget, MAX_STEPS);
    let steps = 0;
    let matched = false;
    let count = 0;
    let position = 0;
    let top = 0;
    if (this.afterPrefix > 0) {
      if (!input.startsWith(this.prefix)) {
        this.steps = 1;
        return 0;
      }
      position = this.prefix.length;
    }
    stack[top++] = this.afterPrefix;
    for (;;) {
      // Epsilon closure at `position` of the program counters on the worklist: follow jumps,
      // splits and the assertions that hold here, and keep the consuming instructions as the
      // threads for the next code point. Each counter is expanded at most once per position.
      let nextCount = 0;
      while (top > 0) {
        const pc = stack[--top]!;
        steps++;
        if (marks[pc] === generation) continue;
        marks[pc] = generation;
        const at = 3 * pc;
        switch (code[at]) {
          case SPLIT:
            stack[top++] = code[at + 2]!;
            stack[top++] = code[at + 1]!;
            break;
          case JUMP:
            stack[top++] = code[at + 1]!;
            break;
          case ASSERT:
            if (assertionHolds(code[at + 1]!, input, position)) stack[top++] = pc + 1;
            break;
          case MATCH:
            matched = true;
            break;
          default:
            next[nextCount++] = pc;
        }
      }
      const swap = current;
      current = next;
      next = swap;
      count = nextCount;
      if (matched) break;
      if (position >= length || (count === 0 && anchored)) break;
      if (steps > limit) {
        this.steps = steps;
        scratch.generation = generation;
        return BUDGET_EXHAUSTED;
      }
      // Iterate by code points (the `u`/`v` flags): a surrogate pair is one character.
      let codePoint = input.charCodeAt(position++);
      if (codePoint >= 0xd800 && codePoint <= 0xdbff && position < length) {
        const trail = input.charCodeAt(position);
        if (trail >= 0xdc00 && trail <= 0xdfff) {
          codePoint = (codePoint - 0xd800) * 0x400 + (trail - 0xdc00) + 0x10000;
          position++;
        }
      }
      generation++;
      steps += count;
      for (let i = 0; i < count; i++) {
        const pc = current[i]!;
        const at = 3 * pc;
        const op = code[at];
        let accepted: boolean;
        if (op === CHAR) accepted = code[at + 1] === codePoint;
        else if (op === CLASS) {
          const index = code[at + 1]!;
          accepted =
            codePoint < 0x80 ? tables[index]![codePoint] === 1 : contains(this.classes[index]!, codePoint);
        } else accepted = true; // ANY
        if (accepted) stack[top++] = pc + 1;
      }
      // Unanchored search: a match may also start at the next position.
      if (!anchored) stack[top++] = 0;
    }
    this.steps = steps;
    scratch.generation = generation;
    return matched ? 1 : 0;
  }
}

function isWordCode(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f
  );
}

function assertionHolds(assertion: number, input: string, position: number): boolean {
  switch (assertion) {
    case ASSERT_START:
      return position === 0;
    case ASSERT_END:
      return position === input.length;
    default: {
      // `\w` is ASCII-only without the `i` flag, so looking at code units is enough: a surrogate
      // is never a word character. charCodeAt out of range is NaN, not a word character either.
      const boundary = isWordCode(input.charCodeAt(position - 1)) !== isWordCode(input.charCodeAt(position));
      return assertion === ASSERT_WORD_BOUNDARY ? boundary : !boundary;
    }
  }
}

const ASSERTIONS: Record<Assertion, number> = {
  start: ASSERT_START,
  end: ASSERT_END,
  "word-boundary": ASSERT_WORD_BOUNDARY,
  "not-word-boundary": ASSERT_NOT_WORD_BOUNDARY,
};

/** Compiles a regular expression source (`v` flag semantics, no other flag). */
export function compileRegexp(source: string): RegexpProgram {
  const tree = parseRegexp(source);
  const builder = new ProgramBuilder();
  builder.emit(tree);
  builder.push(MATCH, 0, 0);
  return builder.build(startsAnchored(tree));
}

function startsAnchored(node: RegexpNode): boolean {
  if (node.kind === "assertion") return node.assertion === "start";
  if (node.kind === "sequence") return node.items.length > 0 && startsAnchored(node.items[0]!);
  if (node.kind === "alternation") return node.items.every(startsAnchored);
  return false;
}

/**
 * Most tree nodes the compiler may visit. Instructions are bounded by MAX_PROGRAM_SIZE, but an
 * empty group emits none, so `(?:(?:(?:){100}){100}){100}…` would otherwise take exponential time
 * to compile to nothing.
 */
const MAX_EMIT_WORK = 4 * MAX_PROGRAM_SIZE;

class ProgramBuilder {
  private work = 0;
  private readonly op: number[] = [];
  private readonly x: number[] = [];
  private readonly y: number[] = [];
  private readonly classes: ClassExpr[] = [];

  get length(): number {
    return this.op.length;
  }

  push(op: number, x: number, y: number): number {
    if (this.op.length >= MAX_PROGRAM_SIZE) {
      throw new InvalidMatcherError(
        "urlpattern_unsupported",
        `the pattern compiles to more than ${MAX_PROGRAM_SIZE} instructions; use fewer or smaller repetition counts`,
      );
    }
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  patch(pc: number, x: number, y: number): void {
    this.x[pc] = x;
    this.y[pc] = y;
  }

  emit(node: RegexpNode): void {
    if (++this.work > MAX_EMIT_WORK) {
      throw new InvalidMatcherError(
        "urlpattern_unsupported",
        "the pattern's repetitions are nested too deeply to compile; use fewer or smaller repetition counts",
      );
    }
    switch (node.kind) {
      case "empty":
        return;
      case "set": {
        const single = singleCodePoint(node.set);
        if (single !== -1) this.push(CHAR, single, 0);
        else if (isEverything(node.set)) this.push(ANY, 0, 0);
        else this.push(CLASS, this.classes.push(node.set) - 1, 0);
        return;
      }
      case "assertion":
        this.push(ASSERT, ASSERTIONS[node.assertion], 0);
        return;
      case "sequence":
        for (const item of node.items) this.emit(item);
        return;
      case "alternation": {
        // split L1, next; L1: alt1; jump end; next: split L2, next2; …; last alternative.
        const jumps: number[] = [];
        node.items.forEach((item, index) => {
          if (index === node.items.length - 1) {
            this.emit(item);
            return;
          }
          const split = this.push(SPLIT, 0, 0);
          this.emit(item);
          jumps.push(this.push(JUMP, 0, 0));
          this.patch(split, split + 1, this.length);
        });
        for (const jump of jumps) this.patch(jump, this.length, 0);
        return;
      }
      case "repeat":
        this.emitRepeat(node.item, node.min, node.max);
        return;
    }
  }

  /** x{min,max}: min copies of x, then either a loop (max = ∞) or max - min optional copies. */
  private emitRepeat(item: RegexpNode, min: number, max: number): void {
    for (let i = 0; i < min; i++) this.emit(item);
    if (max === Number.POSITIVE_INFINITY) {
      // loop: split body, end; body; jump loop; end:
      const loop = this.push(SPLIT, 0, 0);
      this.emit(item);
      this.push(JUMP, loop, 0);
      this.patch(loop, loop + 1, this.length);
      return;
    }
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      splits.push(this.push(SPLIT, 0, 0));
      this.emit(item);
    }
    for (const split of splits) this.patch(split, split + 1, this.length);
  }

  build(anchored: boolean): RegexpProgram {
    const code = new Int32Array(3 * this.op.length);
    for (let pc = 0; pc < this.op.length; pc++) {
      code[3 * pc] = this.op[pc]!;
      code[3 * pc + 1] = this.x[pc]!;
      code[3 * pc + 2] = this.y[pc]!;
    }
    return new RegexpProgram(code, this.classes, anchored);
  }
}
