"""Unit tests of the reference policy's decisions: python -m unittest (from this folder)."""

import unittest

from openim.policy.v1 import common_pb2
from policy import EventCounter, Policy


def text(content: str) -> common_pb2.Message:
    return common_pb2.Message(content_type=common_pb2.CONTENT_TYPE_TEXT, content=content)


class PolicyTest(unittest.TestCase):
    def setUp(self) -> None:
        self.policy = Policy("scam", "spam.example", "New")

    def test_mask_keeps_other_keys_and_masks_every_case(self) -> None:
        content = self.policy.masked_content(
            text('{"content":"a <Spam.Example> and spam.example","x":12345678901234567890}')
        )
        self.assertEqual(
            content, '{"content":"a <************> and ************","x":12345678901234567890}'
        )

    def test_only_text_messages_are_refused(self) -> None:
        self.assertIsNotNone(self.policy.refusal(text('{"content":"a SCAM"}')))
        picture = text('{"content":"scam"}')
        picture.content_type = common_pb2.CONTENT_TYPE_PICTURE
        self.assertIsNone(self.policy.refusal(picture))

    def test_redeliveries_are_counted_once(self) -> None:
        counter = EventCounter(window=2)
        for key in ["a", "b", "a", "", ""]:
            counter.add(key)
        self.assertEqual(counter.add("c"), (5, False))
        # "a" fell out of the window of 2 keys: it counts again.
        self.assertEqual(counter.add("a"), (6, False))


if __name__ == "__main__":
    unittest.main()
