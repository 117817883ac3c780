import { isMasked, RawNumber, stringifyJson } from '../json.js';

/** Pretty JSON, read-only, with masked values marked (the key lacks pii:read) and every digit as sent. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  if (value === undefined) return <p class="muted">No {label}.</p>;
  const text = stringifyJson(value);
  const parts = text.split(/("(?:[^"\\]|\\.)*")/g);
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {parts.map((part, i) => {
        if (i % 2 === 0) return part;
        const inner = (() => {
          try {
            return JSON.parse(part) as string;
          } catch {
            return part;
          }
        })();
        const isKey = parts[i + 1]?.startsWith(':');
        if (isKey) return <span key={i} class="j-key">{part}</span>;
        return <span key={i} class={isMasked(inner) ? 'j-str masked' : 'j-str'} title={isMasked(inner) ? 'masked: this key lacks pii:read' : undefined}>{part}</span>;
      })}
    </pre>
  );
}

export function Value({ value }: { value: unknown }) {
  if (value instanceof RawNumber) return <code>{value.source}</code>;
  if (typeof value === 'string') return <code class={isMasked(value) ? 'masked' : undefined}>{JSON.stringify(value)}</code>;
  return <code>{stringifyJson(value)}</code>;
}
