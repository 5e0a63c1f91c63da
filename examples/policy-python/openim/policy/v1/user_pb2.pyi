from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserInfo(_message.Message):
    __slots__ = ("user_id", "nickname", "face_url", "ex", "create_time_ms", "app_manager_level", "global_recv_msg_opt")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    APP_MANAGER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_RECV_MSG_OPT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    nickname: str
    face_url: str
    ex: str
    create_time_ms: int
    app_manager_level: int
    global_recv_msg_opt: int
    def __init__(self, user_id: _Optional[str] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ..., create_time_ms: _Optional[int] = ..., app_manager_level: _Optional[int] = ..., global_recv_msg_opt: _Optional[int] = ...) -> None: ...

class UserInfoList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[UserInfo]
    def __init__(self, values: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ...) -> None: ...

class UserInfoUpdate(_message.Message):
    __slots__ = ("user_id", "nickname", "face_url", "ex")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    nickname: str
    face_url: str
    ex: str
    def __init__(self, user_id: _Optional[str] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class UserStatus(_message.Message):
    __slots__ = ("user_id", "platform", "platform_name", "time_ms", "is_app_background", "conn_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    IS_APP_BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    CONN_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    platform: _common_pb2.Platform
    platform_name: str
    time_ms: int
    is_app_background: bool
    conn_id: str
    def __init__(self, user_id: _Optional[str] = ..., platform: _Optional[_Union[_common_pb2.Platform, str]] = ..., platform_name: _Optional[str] = ..., time_ms: _Optional[int] = ..., is_app_background: _Optional[bool] = ..., conn_id: _Optional[str] = ...) -> None: ...

class BeforeUserRegisterRequest(_message.Message):
    __slots__ = ("context", "users")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    users: _containers.RepeatedCompositeFieldContainer[UserInfo]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., users: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ...) -> None: ...

class BeforeUserRegisterResponse(_message.Message):
    __slots__ = ("refuse", "users")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    users: UserInfoList
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., users: _Optional[_Union[UserInfoList, _Mapping]] = ...) -> None: ...

class AfterUserRegisterRequest(_message.Message):
    __slots__ = ("context", "users")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    users: _containers.RepeatedCompositeFieldContainer[UserInfo]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., users: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ...) -> None: ...

class AfterUserRegisterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeUpdateUserInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: UserInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[UserInfoUpdate, _Mapping]] = ...) -> None: ...

class BeforeUpdateUserInfoResponse(_message.Message):
    __slots__ = ("refuse", "nickname", "face_url", "ex")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    nickname: str
    face_url: str
    ex: str
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class AfterUpdateUserInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: UserInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[UserInfoUpdate, _Mapping]] = ...) -> None: ...

class AfterUpdateUserInfoResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeUpdateUserInfoExRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: UserInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[UserInfoUpdate, _Mapping]] = ...) -> None: ...

class BeforeUpdateUserInfoExResponse(_message.Message):
    __slots__ = ("refuse", "nickname", "face_url")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    nickname: str
    face_url: str
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ...) -> None: ...

class AfterUpdateUserInfoExRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: UserInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[UserInfoUpdate, _Mapping]] = ...) -> None: ...

class AfterUpdateUserInfoExResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterUserOnlineRequest(_message.Message):
    __slots__ = ("context", "status")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    status: UserStatus
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., status: _Optional[_Union[UserStatus, _Mapping]] = ...) -> None: ...

class AfterUserOnlineResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterUserOfflineRequest(_message.Message):
    __slots__ = ("context", "status")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    status: UserStatus
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., status: _Optional[_Union[UserStatus, _Mapping]] = ...) -> None: ...

class AfterUserOfflineResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterUserKickOffRequest(_message.Message):
    __slots__ = ("context", "status")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    status: UserStatus
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., status: _Optional[_Union[UserStatus, _Mapping]] = ...) -> None: ...

class AfterUserKickOffResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
