// Output formats shared by the simulated Android commands (toybox's conventions).

/** toybox's human_readable(): at most three digits, one decimal below 10, units K M G T P E of 1024. */
export function humanReadable(bytes: number): string {
  let num = Math.floor(bytes);
  let snap = 0;
  let unit = 0;
  while (num > 999) {
    snap = num;
    num = Math.floor((num + 512) / 1024);
    unit++;
  }
  let text = String(num);
  if (unit && text.length === 1) {
    // Redo the rounding so that 1.2M is not shown as 1M.
    const whole = Math.floor(snap / 1024);
    const tenths = Math.floor(Math.floor(((snap - whole * 1024) * 100 + 50) / 1024) / 10);
    text = `${whole}.${tenths}`;
  }
  return unit ? text + ' KMGTPE'[unit] : text;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM` as `ls -l` prints it (the phone's clock is UTC). */
export function lsTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/** `YYYY-MM-DD HH:MM:SS` (dumpsys package times). */
export function isoSeconds(ms: number): string {
  return `${lsTime(ms)}:${pad2(new Date(ms).getUTCSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` as `stat` prints it. */
export function statTime(ms: number): string {
  return `${isoSeconds(ms)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `date`'s default format, `%a %b %e %H:%M:%S %Z %Y`. */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${time} UTC ${d.getUTCFullYear()}`;
}

/** `HH:MM:SS` of the day. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}
