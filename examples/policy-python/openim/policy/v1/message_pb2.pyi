from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BeforeSendSingleMsgRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class BeforeSendSingleMsgResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class BeforeSendGroupMsgRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class BeforeSendGroupMsgResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class BeforeMsgModifyRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class BeforeMsgModifyResponse(_message.Message):
    __slots__ = ("refuse", "content", "receiver_user_id", "group_id", "client_msg_id", "server_msg_id", "sender_platform", "sender_nickname", "sender_face_url", "session_type", "msg_from", "content_type", "status", "options", "at_user_ids", "attached_info", "ex")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SENDER_NICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDER_FACE_URL_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    MSG_FROM_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    AT_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_INFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    content: str
    receiver_user_id: str
    group_id: str
    client_msg_id: str
    server_msg_id: str
    sender_platform: _common_pb2.Platform
    sender_nickname: str
    sender_face_url: str
    session_type: _common_pb2.SessionType
    msg_from: _common_pb2.MsgFrom
    content_type: _common_pb2.ContentType
    status: _common_pb2.MsgStatus
    options: MessageOptions
    at_user_ids: _common_pb2.StringList
    attached_info: str
    ex: str
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., content: _Optional[str] = ..., receiver_user_id: _Optional[str] = ..., group_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., server_msg_id: _Optional[str] = ..., sender_platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., sender_nickname: _Optional[str] = ..., sender_face_url: _Optional[str] = ..., session_type: _Optional[_Union[_common_pb2.SessionType, str]] = ..., msg_from: _Optional[_Union[_common_pb2.MsgFrom, str]] = ..., content_type: _Optional[_Union[_common_pb2.ContentType, str]] = ..., status: _Optional[_Union[_common_pb2.MsgStatus, str]] = ..., options: _Optional[_Union[MessageOptions, _Mapping]] = ..., at_user_ids: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ..., attached_info: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class MessageOptions(_message.Message):
    __slots__ = ("values",)
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.ScalarMap[str, bool]
    def __init__(self, values: _Optional[_Mapping[str, bool]] = ...) -> None: ...

class AfterSendSingleMsgRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class AfterSendSingleMsgResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterSendGroupMsgRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class AfterSendGroupMsgResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterMsgSaveDBRequest(_message.Message):
    __slots__ = ("context", "message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    message: _common_pb2.Message
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class AfterMsgSaveDBResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterSingleMsgReadRequest(_message.Message):
    __slots__ = ("context", "conversation_id", "reader_user_id", "seqs", "conversation_type")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    READER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation_id: str
    reader_user_id: str
    seqs: _containers.RepeatedScalarFieldContainer[int]
    conversation_type: _common_pb2.SessionType
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation_id: _Optional[str] = ..., reader_user_id: _Optional[str] = ..., seqs: _Optional[_Iterable[int]] = ..., conversation_type: _Optional[_Union[_common_pb2.SessionType, str]] = ...) -> None: ...

class AfterSingleMsgReadResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterGroupMsgReadRequest(_message.Message):
    __slots__ = ("context", "reader_user_id", "receive_id", "has_read_seq", "conversation_type")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    READER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_READ_SEQ_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    reader_user_id: str
    receive_id: str
    has_read_seq: int
    conversation_type: _common_pb2.SessionType
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., reader_user_id: _Optional[str] = ..., receive_id: _Optional[str] = ..., has_read_seq: _Optional[int] = ..., conversation_type: _Optional[_Union[_common_pb2.SessionType, str]] = ...) -> None: ...

class AfterGroupMsgReadResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterRevokeMsgRequest(_message.Message):
    __slots__ = ("context", "conversation_id", "seq", "revoker_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    REVOKER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation_id: str
    seq: int
    revoker_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation_id: _Optional[str] = ..., seq: _Optional[int] = ..., revoker_user_id: _Optional[str] = ...) -> None: ...

class AfterRevokeMsgResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
