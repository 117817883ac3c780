import type { Headers } from './signatures.js';
import { UNMAPPED, objectRef, arr, claims, compact, isoFromString, obj, requireId, str, type MappedDelivery } from './mapping.js';

/** The value of one Typeform answer, whatever its type (text, email, choice, number, …). */
function answerValue(answer: Record<string, unknown>): unknown {
  const type = str(answer.type);
  if (type && answer[type] !== undefined) return answer[type];
  for (const key of ['text', 'email', 'phone_number', 'number', 'boolean', 'date', 'url', 'file_url']) if (answer[key] !== undefined) return answer[key];
  if (answer.choice !== undefined) return obj(answer.choice).label ?? answer.choice;
  if (answer.choices !== undefined) return obj(answer.choices).labels ?? answer.choices;
  return undefined;
}

/** Typeform form responses (https://www.typeform.com/developers/webhooks/example-payload/). */
export function mapTypeform(body: unknown, _headers: Headers): MappedDelivery {
  const delivery = obj(body);
  const providerType = str(delivery.event_type) ?? 'unknown';
  const response = obj(delivery.form_response);
  const hidden = obj(response.hidden);
  const definition = obj(response.definition);
  const answers = arr(response.answers).map(obj);

  const responses = answers.map((answer) =>
    compact({ field: str(obj(answer.field).ref) ?? str(obj(answer.field).id), type: str(answer.type), value: answerValue(answer) }),
  );
  const eventType = providerType === 'form_response' ? 'form_submitted' : UNMAPPED;
  const payload =
    eventType === 'form_submitted'
      ? compact({
          form_id: str(response.form_id) ?? str(definition.id),
          form_name: str(definition.title) ?? str(response.form_id),
          responses,
          hidden: Object.keys(hidden).length > 0 ? hidden : undefined,
          provider_event_type: providerType,
        })
      : { provider_event_type: providerType };

  // What the respondent typed is theirs. Hidden fields are set by whoever shared the link (section 4, v1.2), like a
  // hidden lead_id: a hidden e-mail or phone names the respondent only when they typed neither; otherwise it stays in
  // the payload (`hidden`), unlinked, so a link carrying its owner's e-mail never ties a stranger to that owner.
  const typedEmails = answers.filter((a) => a.type === 'email').map((a) => str(a.email)).filter(Boolean);
  const typedPhones = answers.filter((a) => a.type === 'phone_number').map((a) => str(a.phone_number)).filter(Boolean);
  const typed = typedEmails.length > 0 || typedPhones.length > 0;
  const emails = typed ? typedEmails : [str(hidden.email)];
  const phones = typed ? typedPhones : [str(hidden.phone)];
  return {
    providerEventType: providerType,
    eventType,
    // The response token is stable across redeliveries of the same submission; event_id is per delivery. A partial
    // response and its completion share the token: the partial is keyed apart, so the completion is never its "duplicate".
    externalEventId: requireId(
      providerType === 'form_response_partial' && str(response.token) ? `partial:${str(response.token)}` : str(response.token) ?? str(delivery.event_id),
      'form_response.token',
    ),
    occurredAt: isoFromString(response.submitted_at) ?? isoFromString(response.landed_at),
    objectIdRef: str(response.token),
    payload,
    identity: claims({
      emails, phones: phones.filter(Boolean).map((value) => ({ value: value! })),
      objects: [objectRef('typeform', 'response', str(response.token))],
    }),
    explicitLeadId: str(hidden.lead_id),
  };
}
