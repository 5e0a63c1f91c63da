"""OpenIM callback receiver in FastAPI doing the benchmark's word filtering (see ../README.md)."""

import json
import os

import ahocorasick
from fastapi import FastAPI, Request
from fastapi.responses import Response

CONTINUE = {"actionCode": 0, "errCode": 0, "errMsg": "", "errDlt": "", "nextCode": 0}
REFUSE = {
    "actionCode": 0,
    "errCode": 5001,
    "errMsg": "message rejected by content policy",
    "errDlt": "matched rule: abuse",
    "nextCode": 1,
}
TEXT = 101


def automaton(path):
    a = ahocorasick.Automaton()
    with open(path, encoding="utf-8") as f:
        for word in (line.strip().lower() for line in f):
            if word:
                a.add_word(word, len(word))
    a.make_automaton()
    return a


REFUSE_AC = automaton(os.environ["REFUSE_WORDS"])
MASK_AC = automaton(os.environ["MASK_WORDS"])
after_events = 0

app = FastAPI()


def reply(body):
    return Response(content=json.dumps(body, separators=(",", ":")), media_type="application/json")


def text_of(msg):
    if msg.get("contentType") != TEXT:
        return None, None
    content = json.loads(msg.get("content") or "{}")
    return content, content.get("content")


def refused(text):
    return text is not None and any(True for _ in REFUSE_AC.iter(text.lower()))


@app.post("/{path:path}")
async def callback(path: str, request: Request):
    global after_events
    command = path.rsplit("/", 1)[-1]
    msg = await request.json()
    if command in ("callbackBeforeSendSingleMsgCommand", "callbackBeforeSendGroupMsgCommand"):
        _, text = text_of(msg)
        return reply(REFUSE if refused(text) else CONTINUE)
    if command == "callbackBeforeMsgModifyCommand":
        content, text = text_of(msg)
        if text is None:
            return reply(CONTINUE)
        if refused(text):
            return reply(REFUSE)
        chars = list(text)
        changed = False
        for end, length in MASK_AC.iter(text.lower()):
            chars[end - length + 1 : end + 1] = "*" * length
            changed = True
        if not changed:
            return reply(CONTINUE)
        content["content"] = "".join(chars)
        return reply({**CONTINUE, "content": json.dumps(content, ensure_ascii=False)})
    if command == "callbackBeforeOfflinePushCommand":
        info = {k: msg.get(k, "") for k in ("desc", "ex", "iOSPushSound", "signalInfo")}
        info["title"] = "New message"
        info["iOSBadgeCount"] = bool(msg.get("iOSBadgeCount"))
        return reply({**CONTINUE, "offlinePushInfo": info})
    if command in ("callbackAfterSendSingleMsgCommand", "callbackAfterSendGroupMsgCommand"):
        after_events += 1
    return reply(CONTINUE)
