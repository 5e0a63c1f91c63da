from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_TYPE_UNSPECIFIED: _ClassVar[SessionType]
    SESSION_TYPE_SINGLE: _ClassVar[SessionType]
    SESSION_TYPE_WRITE_GROUP: _ClassVar[SessionType]
    SESSION_TYPE_GROUP: _ClassVar[SessionType]
    SESSION_TYPE_NOTIFICATION: _ClassVar[SessionType]

class MsgFrom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MSG_FROM_UNSPECIFIED: _ClassVar[MsgFrom]
    MSG_FROM_USER: _ClassVar[MsgFrom]
    MSG_FROM_SYSTEM: _ClassVar[MsgFrom]

class MsgStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MSG_STATUS_UNSPECIFIED: _ClassVar[MsgStatus]
    MSG_STATUS_SENDING: _ClassVar[MsgStatus]
    MSG_STATUS_SENT: _ClassVar[MsgStatus]
    MSG_STATUS_FAILED: _ClassVar[MsgStatus]
    MSG_STATUS_DELETED: _ClassVar[MsgStatus]
    MSG_STATUS_FILTERED: _ClassVar[MsgStatus]

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_IOS: _ClassVar[Platform]
    PLATFORM_ANDROID: _ClassVar[Platform]
    PLATFORM_WINDOWS: _ClassVar[Platform]
    PLATFORM_OSX: _ClassVar[Platform]
    PLATFORM_WEB: _ClassVar[Platform]
    PLATFORM_MINI_WEB: _ClassVar[Platform]
    PLATFORM_LINUX: _ClassVar[Platform]
    PLATFORM_APAD: _ClassVar[Platform]
    PLATFORM_IPAD: _ClassVar[Platform]
    PLATFORM_ADMIN: _ClassVar[Platform]
    PLATFORM_HARMONY_OS: _ClassVar[Platform]

class ContentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_TYPE_UNSPECIFIED: _ClassVar[ContentType]
    CONTENT_TYPE_TEXT: _ClassVar[ContentType]
    CONTENT_TYPE_PICTURE: _ClassVar[ContentType]
    CONTENT_TYPE_VOICE: _ClassVar[ContentType]
    CONTENT_TYPE_VIDEO: _ClassVar[ContentType]
    CONTENT_TYPE_FILE: _ClassVar[ContentType]
    CONTENT_TYPE_AT_TEXT: _ClassVar[ContentType]
    CONTENT_TYPE_MERGER: _ClassVar[ContentType]
    CONTENT_TYPE_CARD: _ClassVar[ContentType]
    CONTENT_TYPE_LOCATION: _ClassVar[ContentType]
    CONTENT_TYPE_CUSTOM: _ClassVar[ContentType]
    CONTENT_TYPE_REVOKE: _ClassVar[ContentType]
    CONTENT_TYPE_TYPING: _ClassVar[ContentType]
    CONTENT_TYPE_QUOTE: _ClassVar[ContentType]
    CONTENT_TYPE_ADVANCED_TEXT: _ClassVar[ContentType]
    CONTENT_TYPE_MARKDOWN_TEXT: _ClassVar[ContentType]
    CONTENT_TYPE_CUSTOM_NOT_TRIGGER_CONVERSATION: _ClassVar[ContentType]
    CONTENT_TYPE_CUSTOM_ONLINE_ONLY: _ClassVar[ContentType]
    CONTENT_TYPE_REACTION_MESSAGE_MODIFIER: _ClassVar[ContentType]
    CONTENT_TYPE_REACTION_MESSAGE_DELETER: _ClassVar[ContentType]
    CONTENT_TYPE_COMMON: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MSG: _ClassVar[ContentType]
    CONTENT_TYPE_SIGNAL_MSG: _ClassVar[ContentType]
    CONTENT_TYPE_CUSTOM_NOTIFICATION: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_APPLICATION_APPROVED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_APPLICATION_REJECTED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_APPLICATION: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_ADDED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_DELETED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_REMARK_SET: _ClassVar[ContentType]
    CONTENT_TYPE_BLACK_ADDED: _ClassVar[ContentType]
    CONTENT_TYPE_BLACK_DELETED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIEND_INFO_UPDATED: _ClassVar[ContentType]
    CONTENT_TYPE_FRIENDS_INFO_UPDATE: _ClassVar[ContentType]
    CONTENT_TYPE_CONVERSATION_CHANGED: _ClassVar[ContentType]
    CONTENT_TYPE_USER_INFO_UPDATED: _ClassVar[ContentType]
    CONTENT_TYPE_USER_STATUS_CHANGE: _ClassVar[ContentType]
    CONTENT_TYPE_USER_COMMAND_ADD: _ClassVar[ContentType]
    CONTENT_TYPE_USER_COMMAND_DELETE: _ClassVar[ContentType]
    CONTENT_TYPE_USER_COMMAND_UPDATE: _ClassVar[ContentType]
    CONTENT_TYPE_USER_SUBSCRIBE_ONLINE_STATUS: _ClassVar[ContentType]
    CONTENT_TYPE_OA_NOTIFICATION: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_CREATED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_INFO_SET: _ClassVar[ContentType]
    CONTENT_TYPE_JOIN_GROUP_APPLICATION: _ClassVar[ContentType]
    CONTENT_TYPE_MEMBER_QUIT: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_APPLICATION_ACCEPTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_APPLICATION_REJECTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_OWNER_TRANSFERRED: _ClassVar[ContentType]
    CONTENT_TYPE_MEMBER_KICKED: _ClassVar[ContentType]
    CONTENT_TYPE_MEMBER_INVITED: _ClassVar[ContentType]
    CONTENT_TYPE_MEMBER_ENTER: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_DISMISSED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MEMBER_MUTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MEMBER_CANCEL_MUTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MUTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_CANCEL_MUTED: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MEMBER_INFO_SET: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MEMBER_SET_TO_ADMIN: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_MEMBER_SET_TO_ORDINARY: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_NOTIFICATION_SET: _ClassVar[ContentType]
    CONTENT_TYPE_GROUP_NAME_SET: _ClassVar[ContentType]
    CONTENT_TYPE_SUPER_GROUP_UPDATE: _ClassVar[ContentType]
    CONTENT_TYPE_MSG_DELETE: _ClassVar[ContentType]
    CONTENT_TYPE_CONVERSATION_PRIVATE_CHAT: _ClassVar[ContentType]
    CONTENT_TYPE_CONVERSATION_UNREAD: _ClassVar[ContentType]
    CONTENT_TYPE_CLEAR_CONVERSATION: _ClassVar[ContentType]
    CONTENT_TYPE_CONVERSATION_DELETE: _ClassVar[ContentType]
    CONTENT_TYPE_BUSINESS: _ClassVar[ContentType]
    CONTENT_TYPE_REVOKE_NOTIFICATION: _ClassVar[ContentType]
    CONTENT_TYPE_DELETE_MSGS: _ClassVar[ContentType]
    CONTENT_TYPE_HAS_READ_RECEIPT: _ClassVar[ContentType]
SESSION_TYPE_UNSPECIFIED: SessionType
SESSION_TYPE_SINGLE: SessionType
SESSION_TYPE_WRITE_GROUP: SessionType
SESSION_TYPE_GROUP: SessionType
SESSION_TYPE_NOTIFICATION: SessionType
MSG_FROM_UNSPECIFIED: MsgFrom
MSG_FROM_USER: MsgFrom
MSG_FROM_SYSTEM: MsgFrom
MSG_STATUS_UNSPECIFIED: MsgStatus
MSG_STATUS_SENDING: MsgStatus
MSG_STATUS_SENT: MsgStatus
MSG_STATUS_FAILED: MsgStatus
MSG_STATUS_DELETED: MsgStatus
MSG_STATUS_FILTERED: MsgStatus
PLATFORM_UNSPECIFIED: Platform
PLATFORM_IOS: Platform
PLATFORM_ANDROID: Platform
PLATFORM_WINDOWS: Platform
PLATFORM_OSX: Platform
PLATFORM_WEB: Platform
PLATFORM_MINI_WEB: Platform
PLATFORM_LINUX: Platform
PLATFORM_APAD: Platform
PLATFORM_IPAD: Platform
PLATFORM_ADMIN: Platform
PLATFORM_HARMONY_OS: Platform
CONTENT_TYPE_UNSPECIFIED: ContentType
CONTENT_TYPE_TEXT: ContentType
CONTENT_TYPE_PICTURE: ContentType
CONTENT_TYPE_VOICE: ContentType
CONTENT_TYPE_VIDEO: ContentType
CONTENT_TYPE_FILE: ContentType
CONTENT_TYPE_AT_TEXT: ContentType
CONTENT_TYPE_MERGER: ContentType
CONTENT_TYPE_CARD: ContentType
CONTENT_TYPE_LOCATION: ContentType
CONTENT_TYPE_CUSTOM: ContentType
CONTENT_TYPE_REVOKE: ContentType
CONTENT_TYPE_TYPING: ContentType
CONTENT_TYPE_QUOTE: ContentType
CONTENT_TYPE_ADVANCED_TEXT: ContentType
CONTENT_TYPE_MARKDOWN_TEXT: ContentType
CONTENT_TYPE_CUSTOM_NOT_TRIGGER_CONVERSATION: ContentType
CONTENT_TYPE_CUSTOM_ONLINE_ONLY: ContentType
CONTENT_TYPE_REACTION_MESSAGE_MODIFIER: ContentType
CONTENT_TYPE_REACTION_MESSAGE_DELETER: ContentType
CONTENT_TYPE_COMMON: ContentType
CONTENT_TYPE_GROUP_MSG: ContentType
CONTENT_TYPE_SIGNAL_MSG: ContentType
CONTENT_TYPE_CUSTOM_NOTIFICATION: ContentType
CONTENT_TYPE_FRIEND_APPLICATION_APPROVED: ContentType
CONTENT_TYPE_FRIEND_APPLICATION_REJECTED: ContentType
CONTENT_TYPE_FRIEND_APPLICATION: ContentType
CONTENT_TYPE_FRIEND_ADDED: ContentType
CONTENT_TYPE_FRIEND_DELETED: ContentType
CONTENT_TYPE_FRIEND_REMARK_SET: ContentType
CONTENT_TYPE_BLACK_ADDED: ContentType
CONTENT_TYPE_BLACK_DELETED: ContentType
CONTENT_TYPE_FRIEND_INFO_UPDATED: ContentType
CONTENT_TYPE_FRIENDS_INFO_UPDATE: ContentType
CONTENT_TYPE_CONVERSATION_CHANGED: ContentType
CONTENT_TYPE_USER_INFO_UPDATED: ContentType
CONTENT_TYPE_USER_STATUS_CHANGE: ContentType
CONTENT_TYPE_USER_COMMAND_ADD: ContentType
CONTENT_TYPE_USER_COMMAND_DELETE: ContentType
CONTENT_TYPE_USER_COMMAND_UPDATE: ContentType
CONTENT_TYPE_USER_SUBSCRIBE_ONLINE_STATUS: ContentType
CONTENT_TYPE_OA_NOTIFICATION: ContentType
CONTENT_TYPE_GROUP_CREATED: ContentType
CONTENT_TYPE_GROUP_INFO_SET: ContentType
CONTENT_TYPE_JOIN_GROUP_APPLICATION: ContentType
CONTENT_TYPE_MEMBER_QUIT: ContentType
CONTENT_TYPE_GROUP_APPLICATION_ACCEPTED: ContentType
CONTENT_TYPE_GROUP_APPLICATION_REJECTED: ContentType
CONTENT_TYPE_GROUP_OWNER_TRANSFERRED: ContentType
CONTENT_TYPE_MEMBER_KICKED: ContentType
CONTENT_TYPE_MEMBER_INVITED: ContentType
CONTENT_TYPE_MEMBER_ENTER: ContentType
CONTENT_TYPE_GROUP_DISMISSED: ContentType
CONTENT_TYPE_GROUP_MEMBER_MUTED: ContentType
CONTENT_TYPE_GROUP_MEMBER_CANCEL_MUTED: ContentType
CONTENT_TYPE_GROUP_MUTED: ContentType
CONTENT_TYPE_GROUP_CANCEL_MUTED: ContentType
CONTENT_TYPE_GROUP_MEMBER_INFO_SET: ContentType
CONTENT_TYPE_GROUP_MEMBER_SET_TO_ADMIN: ContentType
CONTENT_TYPE_GROUP_MEMBER_SET_TO_ORDINARY: ContentType
CONTENT_TYPE_GROUP_NOTIFICATION_SET: ContentType
CONTENT_TYPE_GROUP_NAME_SET: ContentType
CONTENT_TYPE_SUPER_GROUP_UPDATE: ContentType
CONTENT_TYPE_MSG_DELETE: ContentType
CONTENT_TYPE_CONVERSATION_PRIVATE_CHAT: ContentType
CONTENT_TYPE_CONVERSATION_UNREAD: ContentType
CONTENT_TYPE_CLEAR_CONVERSATION: ContentType
CONTENT_TYPE_CONVERSATION_DELETE: ContentType
CONTENT_TYPE_BUSINESS: ContentType
CONTENT_TYPE_REVOKE_NOTIFICATION: ContentType
CONTENT_TYPE_DELETE_MSGS: ContentType
CONTENT_TYPE_HAS_READ_RECEIPT: ContentType

class CallbackContext(_message.Message):
    __slots__ = ("operation_id", "command", "idempotency_key", "delivery_attempt")
    OPERATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    operation_id: str
    command: str
    idempotency_key: str
    delivery_attempt: int
    def __init__(self, operation_id: _Optional[str] = ..., command: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., delivery_attempt: _Optional[int] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("err_code", "err_msg", "err_dlt")
    ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERR_MSG_FIELD_NUMBER: _ClassVar[int]
    ERR_DLT_FIELD_NUMBER: _ClassVar[int]
    err_code: int
    err_msg: str
    err_dlt: str
    def __init__(self, err_code: _Optional[int] = ..., err_msg: _Optional[str] = ..., err_dlt: _Optional[str] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("sender_user_id", "receiver_user_id", "group_id", "server_msg_id", "client_msg_id", "sender_platform", "sender_nickname", "sender_face_url", "session_type", "msg_from", "content_type", "status", "send_time_ms", "create_time_ms", "content", "seq", "at_user_ids", "ex")
    SENDER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SENDER_NICKNAME_FIELD_NUMBER: _ClassVar[int]
    SENDER_FACE_URL_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    MSG_FROM_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    sender_user_id: str
    receiver_user_id: str
    group_id: str
    server_msg_id: str
    client_msg_id: str
    sender_platform: Platform
    sender_nickname: str
    sender_face_url: str
    session_type: SessionType
    msg_from: MsgFrom
    content_type: ContentType
    status: MsgStatus
    send_time_ms: int
    create_time_ms: int
    content: str
    seq: int
    at_user_ids: _containers.RepeatedScalarFieldContainer[str]
    ex: str
    def __init__(self, sender_user_id: _Optional[str] = ..., receiver_user_id: _Optional[str] = ..., group_id: _Optional[str] = ..., server_msg_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., sender_platform: _Optional[_Union[Platform, str]] = ..., sender_nickname: _Optional[str] = ..., sender_face_url: _Optional[str] = ..., session_type: _Optional[_Union[SessionType, str]] = ..., msg_from: _Optional[_Union[MsgFrom, str]] = ..., content_type: _Optional[_Union[ContentType, str]] = ..., status: _Optional[_Union[MsgStatus, str]] = ..., send_time_ms: _Optional[int] = ..., create_time_ms: _Optional[int] = ..., content: _Optional[str] = ..., seq: _Optional[int] = ..., at_user_ids: _Optional[_Iterable[str]] = ..., ex: _Optional[str] = ...) -> None: ...

class OfflinePushInfo(_message.Message):
    __slots__ = ("title", "desc", "ex", "ios_push_sound", "ios_badge_count", "signal_info")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    IOS_PUSH_SOUND_FIELD_NUMBER: _ClassVar[int]
    IOS_BADGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_INFO_FIELD_NUMBER: _ClassVar[int]
    title: str
    desc: str
    ex: str
    ios_push_sound: str
    ios_badge_count: bool
    signal_info: str
    def __init__(self, title: _Optional[str] = ..., desc: _Optional[str] = ..., ex: _Optional[str] = ..., ios_push_sound: _Optional[str] = ..., ios_badge_count: _Optional[bool] = ..., signal_info: _Optional[str] = ...) -> None: ...
