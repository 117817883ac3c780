import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

/**
 * A windowed list: fixed-height rows, only those in view (plus an overscan) are in the DOM, so 10,000 events
 * scroll as smoothly as 10. The selected row is kept in view; arrow keys move the selection.
 */
export function VirtualList<T>({ items, rowHeight, height, render, selected, onSelect, label, keyOf, prepended = 0 }: {
  items: T[];
  rowHeight: number;
  height: number;
  render: (item: T, index: number) => ComponentChildren;
  selected?: number;
  onSelect?: (index: number) => void;
  label: string;
  keyOf: (item: T) => string;
  /** How many rows were ever added above the first: when it grows, the view moves down with them (live tail). */
  prepended?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const overscan = 8;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || selected === undefined || selected < 0) return;
    const top = selected * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + height) el.scrollTop = top + rowHeight - height;
  }, [selected, rowHeight, height]);

  const seenPrepended = useRef(prepended);
  useLayoutEffect(() => {
    const el = box.current;
    const added = prepended - seenPrepended.current;
    seenPrepended.current = prepended;
    // Reading further down: keep the same rows under the eye. At the very top, the new rows simply show.
    if (el && added > 0 && el.scrollTop > 0) el.scrollTop += added * rowHeight;
    if (el && el.scrollTop !== scrollTop) setScrollTop(el.scrollTop);
  }, [items.length, prepended]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (!onSelect || items.length === 0) return;
    const current = selected ?? -1;
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const next = e.key === 'ArrowDown' ? current + 1 : e.key === 'ArrowUp' ? current - 1 : e.key === 'PageDown' ? current + page
      : e.key === 'PageUp' ? current - page : e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1 : undefined;
    if (next === undefined) return;
    e.preventDefault();
    onSelect(Math.min(items.length - 1, Math.max(0, next)));
  };

  return (
    <div
      ref={box}
      class="vlist"
      style={{ height: `${height}px` }}
      tabIndex={0}
      role="listbox"
      aria-label={label}
      aria-activedescendant={selected !== undefined && selected >= 0 && items[selected] ? `row-${keyOf(items[selected]!)}` : undefined}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: `${items.length * rowHeight}px`, position: 'relative' }}>
        {items.slice(first, last).map((item, i) => {
          const index = first + i;
          return (
            <div
              key={keyOf(item)}
              id={`row-${keyOf(item)}`}
              role="option"
              aria-selected={index === selected}
              class={`vrow${index === selected ? ' selected' : ''}`}
              style={{ top: `${index * rowHeight}px`, height: `${rowHeight}px` }}
              onClick={() => onSelect?.(index)}
            >
              {render(item, index)}
            </div>
          );
        })}
      </div>
    </div>
  );
}
