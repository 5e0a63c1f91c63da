"""Reference openim-policy service in Python.

Refuses messages containing a word, masks another word through msg-modify, rewrites the offline
push title and counts after-send events. Every other RPC of the contract answers UNIMPLEMENTED,
which the shim reads as "continue".

    python policy.py --listen 127.0.0.1:50051

Flags can also be set by environment variables: POLICY_LISTEN, POLICY_REFUSE_WORD,
POLICY_MASK_WORD, POLICY_PUSH_TITLE.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import threading
from collections import OrderedDict
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from openim.policy.v1 import (
    common_pb2,
    message_pb2,
    message_pb2_grpc,
    push_pb2,
    push_pb2_grpc,
)

# Refusal returned to the sender of a message containing the refused word.
REFUSE_CODE = 5001
REFUSE_MSG = "message rejected by content policy"

log = logging.getLogger("policy-python")


class EventCounter:
    """Counts events, ignoring a key seen among the last `window` keys: after-events are
    delivered at least once, and a redelivery carries the same idempotency key."""

    def __init__(self, window: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._window = window
        self.count = 0

    def add(self, key: str) -> tuple[int, bool]:
        """Counts the event with `key` (an empty key cannot be deduplicated and always counts);
        returns the count and whether it was a duplicate."""
        with self._lock:
            if key:
                if key in self._seen:
                    return self.count, True
                self._seen[key] = None
                if len(self._seen) > self._window:
                    self._seen.popitem(last=False)
            self.count += 1
            return self.count, False


def word_pattern(word: str) -> re.Pattern[str]:
    """Matches `word` literally, in any letter case."""
    return re.compile(re.escape(word), re.IGNORECASE)


def text_of(message: common_pb2.Message) -> str | None:
    """The user-written text of a text message (its content is {"content": "..."}), else None."""
    if message.content_type != common_pb2.CONTENT_TYPE_TEXT:
        return None
    try:
        content = json.loads(message.content)
    except ValueError:
        return None
    text = content.get("content") if isinstance(content, dict) else None
    return text if isinstance(text, str) else None


def replace_text(content: str, text: str) -> str:
    """The content JSON object with its "content" key set to `text`, other keys kept in order."""
    obj = json.loads(content)
    obj["content"] = text
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Policy:
    """The scenario's decisions, free of gRPC plumbing."""

    def __init__(self, refuse_word: str, mask_word: str, push_title: str) -> None:
        if not refuse_word or not mask_word:
            raise ValueError("the refused and the masked word must not be empty")
        self.refuse = word_pattern(refuse_word)
        self.mask = word_pattern(mask_word)
        self.push_title = push_title
        self.events = EventCounter()

    def refusal(self, message: common_pb2.Message) -> common_pb2.Refusal | None:
        """A refusal if the message's text contains the refused word, else None (continue)."""
        text = text_of(message)
        if text is None or not self.refuse.search(text):
            return None
        return common_pb2.Refusal(
            err_code=REFUSE_CODE, err_msg=REFUSE_MSG, err_dlt="matched the refused word"
        )

    def masked_content(self, message: common_pb2.Message) -> str | None:
        """The new content with the masked word masked, or None to leave it unchanged."""
        text = text_of(message)
        if text is None or not self.mask.search(text):
            return None
        masked = self.mask.sub(lambda m: "*" * len(m.group()), text)
        return replace_text(message.content, masked)

    def count(self, rpc: str, ctx: common_pb2.CallbackContext) -> None:
        n, duplicate = self.events.add(ctx.idempotency_key)
        log.info(
            "after-event rpc=%s operation_id=%s idempotency_key=%s attempt=%d duplicate=%s "
            "count=%d",
            rpc,
            ctx.operation_id,
            ctx.idempotency_key,
            ctx.delivery_attempt,
            duplicate,
            n,
        )


class MessageService(message_pb2_grpc.MessageServiceServicer):
    """The message RPCs of the scenario; the base class answers UNIMPLEMENTED for the others."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def BeforeSendSingleMsg(self, request, context):
        refuse = self.policy.refusal(request.message)
        if refuse is not None:
            log.info(
                "refused rpc=BeforeSendSingleMsg operation_id=%s", request.context.operation_id
            )
        return message_pb2.BeforeSendSingleMsgResponse(refuse=refuse)

    def BeforeSendGroupMsg(self, request, context):
        refuse = self.policy.refusal(request.message)
        if refuse is not None:
            log.info("refused rpc=BeforeSendGroupMsg operation_id=%s", request.context.operation_id)
        return message_pb2.BeforeSendGroupMsgResponse(refuse=refuse)

    def BeforeMsgModify(self, request, context):
        content = self.policy.masked_content(request.message)
        if content is None:
            return message_pb2.BeforeMsgModifyResponse()  # continue, unchanged
        log.info("masked rpc=BeforeMsgModify operation_id=%s", request.context.operation_id)
        return message_pb2.BeforeMsgModifyResponse(content=content)

    def AfterSendSingleMsg(self, request, context):
        self.policy.count("AfterSendSingleMsg", request.context)
        return message_pb2.AfterSendSingleMsgResponse()

    def AfterSendGroupMsg(self, request, context):
        self.policy.count("AfterSendGroupMsg", request.context)
        return message_pb2.AfterSendGroupMsgResponse()


class PushService(push_pb2_grpc.PushServiceServicer):
    """Rewrites the offline push title; the base class answers UNIMPLEMENTED for the others."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def BeforeOfflinePush(self, request, context):
        # The reply replaces ALL push texts: start from the request's.
        info = common_pb2.OfflinePushInfo()
        info.CopyFrom(request.push.offline_push_info)
        info.title = self.policy.push_title
        return push_pb2.BeforeOfflinePushResponse(offline_push_info=info)


class QuietUnimplemented(logging.Filter):
    """Drops grpc's error log of the RPCs this policy leaves unimplemented: the generated base
    classes answer them UNIMPLEMENTED (the intended answer: "continue") by raising
    NotImplementedError, which grpc would log with a traceback on every call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], NotImplementedError))


def serve(listen: str, policy: Policy) -> grpc.Server:
    """Starts the gRPC server on `listen` with the policy's services and grpc.health.v1."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    message_pb2_grpc.add_MessageServiceServicer_to_server(MessageService(policy), server)
    push_pb2_grpc.add_PushServiceServicer_to_server(PushService(policy), server)
    # The services not added here (users, friends, groups, conversations) answer
    # UNIMPLEMENTED: the shim continues.
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", "openim.policy.v1.MessageService", "openim.policy.v1.PushService"):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    if server.add_insecure_port(listen) == 0:
        raise OSError(f"cannot listen on {listen}")
    server.start()
    return server


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default=env("POLICY_LISTEN", "127.0.0.1:50051"))
    parser.add_argument("--refuse-word", default=env("POLICY_REFUSE_WORD", "scam"))
    parser.add_argument("--mask-word", default=env("POLICY_MASK_WORD", "spam.example"))
    parser.add_argument("--push-title", default=env("POLICY_PUSH_TITLE", "New message"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("grpc._server").addFilter(QuietUnimplemented())

    server = serve(args.listen, Policy(args.refuse_word, args.mask_word, args.push_title))
    # Stop gracefully on SIGINT/SIGTERM: finish the calls in flight (5 s at most).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.stop(grace=5))
    log.info("policy-python ready addr=%s", args.listen)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
