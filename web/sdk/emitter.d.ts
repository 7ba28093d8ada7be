/**
 * One event style for every SDK object: `on`, `off` and `once` with typed event names and
 * listener arguments. A listener that throws does not stop the others (the error is
 * reported on the console), so an application bug cannot break the SDK's own bookkeeping.
 */
/** Maps event names to the arguments their listeners receive. */
export type EventMap = {
    [name: string]: unknown[];
};
/** A listener of event `K` of map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;
/** Typed event emitter; `E` maps each event name to its listener's arguments. */
export declare class Emitter<E extends EventMap> {
    #private;
    /** Calls `listener` every time `event` happens; returns `this` for chaining. */
    on<K extends keyof E>(event: K, listener: Listener<E, K>): this;
    /** Stops calling `listener` (as given to `on`, or to `once` before it fired). */
    off<K extends keyof E>(event: K, listener: Listener<E, K>): this;
    /** Calls `listener` the next time `event` happens only. */
    once<K extends keyof E>(event: K, listener: Listener<E, K>): this;
    /** Calls every listener of `event` in the order they were added. */
    protected emit<K extends keyof E>(event: K, ...args: E[K]): void;
}
