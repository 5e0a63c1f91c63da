from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PushMessage(_message.Message):
    __slots__ = ("sender_platform", "sender_platform_name", "target_user_ids", "offline_push_info", "client_msg_id", "sender_user_id", "group_id", "content_type", "session_type", "at_user_ids", "content", "seq")
    SENDER_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SENDER_PLATFORM_NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_PUSH_INFO_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    AT_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    sender_platform: _common_pb2.Platform
    sender_platform_name: str
    target_user_ids: _containers.RepeatedScalarFieldContainer[str]
    offline_push_info: _common_pb2.OfflinePushInfo
    client_msg_id: str
    sender_user_id: str
    group_id: str
    content_type: _common_pb2.ContentType
    session_type: _common_pb2.SessionType
    at_user_ids: _containers.RepeatedScalarFieldContainer[str]
    content: str
    seq: int
    def __init__(self, sender_platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., sender_platform_name: _Optional[str] = ..., target_user_ids: _Optional[_Iterable[str]] = ..., offline_push_info: _Optional[_Union[_common_pb2.OfflinePushInfo, _Mapping]] = ..., client_msg_id: _Optional[str] = ..., sender_user_id: _Optional[str] = ..., group_id: _Optional[str] = ..., content_type: _Optional[_Union[_common_pb2.ContentType, str]] = ..., session_type: _Optional[_Union[_common_pb2.SessionType, str]] = ..., at_user_ids: _Optional[_Iterable[str]] = ..., content: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class BeforeOfflinePushRequest(_message.Message):
    __slots__ = ("context", "push")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    push: PushMessage
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., push: _Optional[_Union[PushMessage, _Mapping]] = ...) -> None: ...

class BeforeOfflinePushResponse(_message.Message):
    __slots__ = ("refuse", "target_user_ids", "offline_push_info")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_PUSH_INFO_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    target_user_ids: _common_pb2.StringList
    offline_push_info: _common_pb2.OfflinePushInfo
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., target_user_ids: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ..., offline_push_info: _Optional[_Union[_common_pb2.OfflinePushInfo, _Mapping]] = ...) -> None: ...

class BeforeOnlinePushRequest(_message.Message):
    __slots__ = ("context", "push")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    push: PushMessage
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., push: _Optional[_Union[PushMessage, _Mapping]] = ...) -> None: ...

class BeforeOnlinePushResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class BeforeGroupOnlinePushRequest(_message.Message):
    __slots__ = ("context", "push")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    push: PushMessage
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., push: _Optional[_Union[PushMessage, _Mapping]] = ...) -> None: ...

class BeforeGroupOnlinePushResponse(_message.Message):
    __slots__ = ("refuse", "target_user_ids")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    target_user_ids: _common_pb2.StringList
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., target_user_ids: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ...) -> None: ...
