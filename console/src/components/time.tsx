import { formatTime } from '../format.js';

/** A UTC timestamp in a row: the date part hides on narrow screens, the time to the millisecond stays. */
export function TimeCell({ iso }: { iso: string }) {
  const text = formatTime(iso);
  const space = text.indexOf(' ');
  return <span class="time" title={iso}>{space > 0 ? <><span class="date">{text.slice(0, space + 1)}</span>{text.slice(space + 1)}</> : text}</span>;
}
