/**
 * One event style for every SDK object: `on`, `off` and `once` with typed event names and
 * listener arguments. A listener that throws does not stop the others (the error is
 * reported on the console), so an application bug cannot break the SDK's own bookkeeping.
 */

/** A stored listener, its argument types erased. */
type Fn = (...args: unknown[]) => void;

/** Maps event names to the arguments their listeners receive. */
export type EventMap = { [name: string]: unknown[] };

/** A listener of event `K` of map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/** Typed event emitter; `E` maps each event name to its listener's arguments. */
export class Emitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<Fn>>();

  /** Calls `listener` every time `event` happens; returns `this` for chaining. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as Fn);
    return this;
  }

  /** Stops calling `listener` (as given to `on`, or to `once` before it fired). */
  off<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    const set = this.#listeners.get(event);
    if (!set) return this;
    set.delete(listener as unknown as Fn);
    for (const l of set) {
      if ((l as { original?: unknown }).original === listener) set.delete(l);
    }
    return this;
  }

  /** Calls `listener` the next time `event` happens only. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    const wrapper = (...args: E[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    };
    (wrapper as { original?: unknown }).original = listener;
    return this.on(event, wrapper);
  }

  /** Calls every listener of `event` in the order they were added. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as (...a: E[K]) => void)(...args);
      } catch (err) {
        console.error(`OpenCalls: a '${String(event)}' listener threw`, err);
      }
    }
  }
}
