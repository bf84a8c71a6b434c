//! One user action that may fail: clear the last error, mark the action under way, run it, keep its error to show.
//! The error is kept rather than thrown, because the panel shows it beside the button (an `ErrorBox`).

/** Runs `action`, clearing `setError` first and setting it to what `action` throws; `setPending`, if given, is true
 * while it runs. Never rejects. */
export async function tryAction(
  action: () => Promise<void>,
  setError: (error: unknown) => void,
  setPending?: (pending: boolean) => void,
): Promise<void> {
  setPending?.(true);
  setError(null);
  try {
    await action();
  } catch (raw) {
    setError(raw);
  } finally {
    setPending?.(false);
  }
}
