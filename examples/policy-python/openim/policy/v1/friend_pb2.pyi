from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BeforeAddFriendRequest(_message.Message):
    __slots__ = ("context", "from_user_id", "to_user_id", "request_message", "ex")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    from_user_id: str
    to_user_id: str
    request_message: str
    ex: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., from_user_id: _Optional[str] = ..., to_user_id: _Optional[str] = ..., request_message: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class BeforeAddFriendResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class AfterAddFriendRequest(_message.Message):
    __slots__ = ("context", "from_user_id", "to_user_id", "request_message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    from_user_id: str
    to_user_id: str
    request_message: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., from_user_id: _Optional[str] = ..., to_user_id: _Optional[str] = ..., request_message: _Optional[str] = ...) -> None: ...

class AfterAddFriendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeAddFriendAgreeRequest(_message.Message):
    __slots__ = ("context", "from_user_id", "to_user_id", "handle_result", "handle_message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    HANDLE_RESULT_FIELD_NUMBER: _ClassVar[int]
    HANDLE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    from_user_id: str
    to_user_id: str
    handle_result: int
    handle_message: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., from_user_id: _Optional[str] = ..., to_user_id: _Optional[str] = ..., handle_result: _Optional[int] = ..., handle_message: _Optional[str] = ...) -> None: ...

class BeforeAddFriendAgreeResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class AfterAddFriendAgreeRequest(_message.Message):
    __slots__ = ("context", "from_user_id", "to_user_id", "handle_result", "handle_message")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    HANDLE_RESULT_FIELD_NUMBER: _ClassVar[int]
    HANDLE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    from_user_id: str
    to_user_id: str
    handle_result: int
    handle_message: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., from_user_id: _Optional[str] = ..., to_user_id: _Optional[str] = ..., handle_result: _Optional[int] = ..., handle_message: _Optional[str] = ...) -> None: ...

class AfterAddFriendAgreeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterDeleteFriendRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "friend_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    friend_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., friend_user_id: _Optional[str] = ...) -> None: ...

class AfterDeleteFriendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeImportFriendsRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "friend_user_ids")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    friend_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., friend_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BeforeImportFriendsResponse(_message.Message):
    __slots__ = ("refuse", "friend_user_ids")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    friend_user_ids: _common_pb2.StringList
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., friend_user_ids: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ...) -> None: ...

class AfterImportFriendsRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "friend_user_ids")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    friend_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., friend_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AfterImportFriendsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeSetFriendRemarkRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "friend_user_id", "remark")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    friend_user_id: str
    remark: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., friend_user_id: _Optional[str] = ..., remark: _Optional[str] = ...) -> None: ...

class BeforeSetFriendRemarkResponse(_message.Message):
    __slots__ = ("refuse", "remark")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    remark: str
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., remark: _Optional[str] = ...) -> None: ...

class AfterSetFriendRemarkRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "friend_user_id", "remark")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    FRIEND_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REMARK_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    friend_user_id: str
    remark: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., friend_user_id: _Optional[str] = ..., remark: _Optional[str] = ...) -> None: ...

class AfterSetFriendRemarkResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeAddBlackRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "black_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    BLACK_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    black_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., black_user_id: _Optional[str] = ...) -> None: ...

class BeforeAddBlackResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class AfterRemoveBlackRequest(_message.Message):
    __slots__ = ("context", "owner_user_id", "black_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    BLACK_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    owner_user_id: str
    black_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., owner_user_id: _Optional[str] = ..., black_user_id: _Optional[str] = ...) -> None: ...

class AfterRemoveBlackResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
