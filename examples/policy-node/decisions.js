// The reference scenario's decisions, free of gRPC plumbing: refuse a word, mask another,
// rewrite the offline push title, count after-events once each.

/** Refusal returned to the sender of a message containing the refused word. */
export const REFUSE_CODE = 5001;
export const REFUSE_MSG = 'message rejected by content policy';

/**
 * Counts events, ignoring a key seen among the last `window` keys: after-events are delivered
 * at least once, and a redelivery carries the same idempotency key.
 */
export class EventCounter {
  #seen = new Set(); // insertion-ordered: the first key is the oldest
  #window;
  count = 0;

  constructor(window = 10_000) {
    this.#window = window;
  }

  /**
   * Counts the event with `key` (an empty key cannot be deduplicated and always counts).
   * @returns {{count: number, duplicate: boolean}}
   */
  add(key) {
    if (key) {
      if (this.#seen.has(key)) return { count: this.count, duplicate: true };
      this.#seen.add(key);
      if (this.#seen.size > this.#window) this.#seen.delete(this.#seen.values().next().value);
    }
    this.count += 1;
    return { count: this.count, duplicate: false };
  }
}

/** Matches `word` literally, in any letter case (`flags` adds 'g' to replace every match). */
export function wordPattern(word, flags = '') {
  return new RegExp(word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), `i${flags}`);
}

/** The user-written text of a text message (its content is {"content": "..."}), or null. */
export function textOf(message) {
  if (message?.contentType !== 'CONTENT_TYPE_TEXT') return null;
  try {
    const content = JSON.parse(message.content);
    return typeof content?.content === 'string' ? content.content : null;
  } catch {
    return null;
  }
}

/**
 * The content JSON object with its "content" key set to `text`, other keys kept in order.
 * (JSON.parse reads numbers as doubles: a text message's content has none.)
 */
export function replaceText(content, text) {
  return JSON.stringify({ ...JSON.parse(content), content: text });
}

export class Policy {
  #refuse;
  #mask;

  constructor({ refuseWord, maskWord, pushTitle }) {
    if (!refuseWord || !maskWord) {
      throw new Error('the refused and the masked word must not be empty');
    }
    this.#refuse = wordPattern(refuseWord);
    this.#mask = wordPattern(maskWord, 'g');
    this.pushTitle = pushTitle;
    this.events = new EventCounter();
  }

  /** A refusal if the message's text contains the refused word, else null (continue). */
  refusal(message) {
    const text = textOf(message);
    if (text === null || !this.#refuse.test(text)) return null;
    return { errCode: REFUSE_CODE, errMsg: REFUSE_MSG, errDlt: 'matched the refused word' };
  }

  /** The new content with the masked word masked, or null to leave it unchanged. */
  maskedContent(message) {
    const text = textOf(message);
    if (text === null) return null;
    const masked = text.replace(this.#mask, (m) => '*'.repeat([...m].length));
    return masked === text ? null : replaceText(message.content, masked);
  }
}
