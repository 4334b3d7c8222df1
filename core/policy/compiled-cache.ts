// Parsed and compiled policies keyed by the sha256 of their bytes. Sources re-read their policies on every reload and
// refresh; unchanged bytes (the usual case) then cost a hash, not a parse, a validation and a compile. Refused bytes
// are cached too, so a broken parameter is not re-parsed every five minutes.
import { LRUCache } from 'lru-cache';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { sha256Hex, type ParseOptions, type Problem, type Warning } from './load.js';
import { OFF_THREAD_MIN_BYTES, parsePolicyOffThread } from './parse-off-thread.js';
import { visible } from '../text/printable.js';

export interface ReadyPolicy {
  ok: true;
  compiled: CompiledPolicy;
  digest: string;
  warnings: Warning[];
}

export type Prepared = ReadyPolicy | { ok: false; digest: string; problems: Problem[] };

export class CompiledPolicyCache {
  private readonly cache: LRUCache<string, Prepared>;

  /** `options` hold for every policy this cache prepares (one source, one daemon's config). */
  constructor(
    max = 64,
    private readonly options: ParseOptions = {},
  ) {
    this.cache = new LRUCache({ max });
  }

  /** Unchanged bytes are a cache hit; new ones are parsed and validated off the event loop when large
   * (parse-off-thread.ts), then compiled here (compiling indexes the rules: milliseconds even for 10,000). */
  async prepare(bytes: Uint8Array): Promise<Prepared> {
    const digest = sha256Hex(bytes);
    const hit = this.cache.get(digest);
    if (hit) return hit;
    const parsed = await parsePolicyOffThread(bytes, OFF_THREAD_MIN_BYTES, this.options);
    const prepared: Prepared = parsed.ok
      ? { ok: true, compiled: compilePolicy(parsed.policy), digest, warnings: parsed.warnings }
      : { ok: false, digest, problems: parsed.problems };
    this.cache.set(digest, prepared);
    return prepared;
  }
}

/** One line for status and logs: the first problem with its position, and how many more there are. */
export function summarize(problems: readonly Problem[], where: string): string {
  const first = problems[0];
  if (!first) return `${where}: not valid`;
  const pos = first.line !== undefined ? `:${first.line}${first.column !== undefined ? `:${first.column}` : ''}` : '';
  const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
  // The message may quote the policy; the summary is shown on terminals (daemon status, refusals): no controls in it.
  return `${where}${pos}: ${visible(first.message)}${more}`;
}
