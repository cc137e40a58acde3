/**
 * Which text of a chat request is embedded and counted (runtime-agnostic).
 */

/** The parts of a chat message these helpers read. */
export interface TextMessage {
  role: string;
  content: string | ReadonlyArray<{ type: string; text?: string }> | null;
}

/**
 * The text of one message: a string as is; content parts joined by newlines (text parts only).
 *
 * @example
 * messageText({ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url' }] }); // 'a'
 */
export function messageText(message: TextMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text)
    .join('\n');
}

/**
 * The text to embed, per the manifest's `embedding.text`: `last-user-message` (default) is the
 * last user message (or the last message when there is no user message); `all-messages` joins all.
 *
 * @example
 * embeddingText([{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }], 'last-user-message'); // 'Hi'
 */
export function embeddingText(messages: readonly TextMessage[], mode: string): string {
  if (mode === 'all-messages') return messages.map(messageText).join('\n');
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'user') return messageText(m);
  }
  const last = messages[messages.length - 1];
  return last ? messageText(last) : '';
}
