from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversationInfo(_message.Message):
    __slots__ = ("owner_user_id", "conversation_id", "conversation_type", "user_id", "group_id", "recv_msg_opt", "is_pinned", "is_private_chat", "burn_duration", "group_at_type", "attached_info", "ex")
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    RECV_MSG_OPT_FIELD_NUMBER: _ClassVar[int]
    IS_PINNED_FIELD_NUMBER: _ClassVar[int]
    IS_PRIVATE_CHAT_FIELD_NUMBER: _ClassVar[int]
    BURN_DURATION_FIELD_NUMBER: _ClassVar[int]
    GROUP_AT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_INFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    owner_user_id: str
    conversation_id: str
    conversation_type: _common_pb2.SessionType
    user_id: str
    group_id: str
    recv_msg_opt: int
    is_pinned: bool
    is_private_chat: bool
    burn_duration: int
    group_at_type: int
    attached_info: str
    ex: str
    def __init__(self, owner_user_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., conversation_type: _Optional[_Union[_common_pb2.SessionType, str]] = ..., user_id: _Optional[str] = ..., group_id: _Optional[str] = ..., recv_msg_opt: _Optional[int] = ..., is_pinned: _Optional[bool] = ..., is_private_chat: _Optional[bool] = ..., burn_duration: _Optional[int] = ..., group_at_type: _Optional[int] = ..., attached_info: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class ConversationChanges(_message.Message):
    __slots__ = ("recv_msg_opt", "is_pinned", "is_private_chat", "burn_duration", "group_at_type", "attached_info", "ex")
    RECV_MSG_OPT_FIELD_NUMBER: _ClassVar[int]
    IS_PINNED_FIELD_NUMBER: _ClassVar[int]
    IS_PRIVATE_CHAT_FIELD_NUMBER: _ClassVar[int]
    BURN_DURATION_FIELD_NUMBER: _ClassVar[int]
    GROUP_AT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_INFO_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    recv_msg_opt: int
    is_pinned: bool
    is_private_chat: bool
    burn_duration: int
    group_at_type: int
    attached_info: str
    ex: str
    def __init__(self, recv_msg_opt: _Optional[int] = ..., is_pinned: _Optional[bool] = ..., is_private_chat: _Optional[bool] = ..., burn_duration: _Optional[int] = ..., group_at_type: _Optional[int] = ..., attached_info: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class BeforeCreateSingleChatConversationsRequest(_message.Message):
    __slots__ = ("context", "conversation")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation: ConversationInfo
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation: _Optional[_Union[ConversationInfo, _Mapping]] = ...) -> None: ...

class BeforeCreateSingleChatConversationsResponse(_message.Message):
    __slots__ = ("refuse", "changes")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    changes: ConversationChanges
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., changes: _Optional[_Union[ConversationChanges, _Mapping]] = ...) -> None: ...

class AfterCreateSingleChatConversationsRequest(_message.Message):
    __slots__ = ("context", "conversation")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation: ConversationInfo
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation: _Optional[_Union[ConversationInfo, _Mapping]] = ...) -> None: ...

class AfterCreateSingleChatConversationsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeCreateGroupChatConversationsRequest(_message.Message):
    __slots__ = ("context", "conversation")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation: ConversationInfo
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation: _Optional[_Union[ConversationInfo, _Mapping]] = ...) -> None: ...

class BeforeCreateGroupChatConversationsResponse(_message.Message):
    __slots__ = ("refuse", "changes")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    changes: ConversationChanges
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., changes: _Optional[_Union[ConversationChanges, _Mapping]] = ...) -> None: ...

class AfterCreateGroupChatConversationsRequest(_message.Message):
    __slots__ = ("context", "conversation")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    conversation: ConversationInfo
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., conversation: _Optional[_Union[ConversationInfo, _Mapping]] = ...) -> None: ...

class AfterCreateGroupChatConversationsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
