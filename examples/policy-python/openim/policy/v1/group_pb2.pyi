from openim.policy.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoleLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_LEVEL_UNSPECIFIED: _ClassVar[RoleLevel]
    ROLE_LEVEL_MEMBER: _ClassVar[RoleLevel]
    ROLE_LEVEL_ADMIN: _ClassVar[RoleLevel]
    ROLE_LEVEL_OWNER: _ClassVar[RoleLevel]

class JoinSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOIN_SOURCE_UNSPECIFIED: _ClassVar[JoinSource]
    JOIN_SOURCE_ADMIN: _ClassVar[JoinSource]
    JOIN_SOURCE_INVITATION: _ClassVar[JoinSource]
    JOIN_SOURCE_SEARCH: _ClassVar[JoinSource]
    JOIN_SOURCE_QR_CODE: _ClassVar[JoinSource]
ROLE_LEVEL_UNSPECIFIED: RoleLevel
ROLE_LEVEL_MEMBER: RoleLevel
ROLE_LEVEL_ADMIN: RoleLevel
ROLE_LEVEL_OWNER: RoleLevel
JOIN_SOURCE_UNSPECIFIED: JoinSource
JOIN_SOURCE_ADMIN: JoinSource
JOIN_SOURCE_INVITATION: JoinSource
JOIN_SOURCE_SEARCH: JoinSource
JOIN_SOURCE_QR_CODE: JoinSource

class GroupInfo(_message.Message):
    __slots__ = ("group_id", "group_name", "notification", "introduction", "face_url", "owner_user_id", "create_time_ms", "member_count", "ex", "status", "creator_user_id", "group_type", "need_verification", "look_member_info", "apply_member_friend", "notification_update_time_ms", "notification_user_id")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEED_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOK_MEMBER_INFO_FIELD_NUMBER: _ClassVar[int]
    APPLY_MEMBER_FRIEND_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_UPDATE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_USER_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    group_name: str
    notification: str
    introduction: str
    face_url: str
    owner_user_id: str
    create_time_ms: int
    member_count: int
    ex: str
    status: int
    creator_user_id: str
    group_type: int
    need_verification: int
    look_member_info: int
    apply_member_friend: int
    notification_update_time_ms: int
    notification_user_id: str
    def __init__(self, group_id: _Optional[str] = ..., group_name: _Optional[str] = ..., notification: _Optional[str] = ..., introduction: _Optional[str] = ..., face_url: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., create_time_ms: _Optional[int] = ..., member_count: _Optional[int] = ..., ex: _Optional[str] = ..., status: _Optional[int] = ..., creator_user_id: _Optional[str] = ..., group_type: _Optional[int] = ..., need_verification: _Optional[int] = ..., look_member_info: _Optional[int] = ..., apply_member_friend: _Optional[int] = ..., notification_update_time_ms: _Optional[int] = ..., notification_user_id: _Optional[str] = ...) -> None: ...

class InitialMember(_message.Message):
    __slots__ = ("user_id", "role_level")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role_level: RoleLevel
    def __init__(self, user_id: _Optional[str] = ..., role_level: _Optional[_Union[RoleLevel, str]] = ...) -> None: ...

class BeforeCreateGroupRequest(_message.Message):
    __slots__ = ("context", "group", "initial_members")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group: GroupInfo
    initial_members: _containers.RepeatedCompositeFieldContainer[InitialMember]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group: _Optional[_Union[GroupInfo, _Mapping]] = ..., initial_members: _Optional[_Iterable[_Union[InitialMember, _Mapping]]] = ...) -> None: ...

class BeforeCreateGroupResponse(_message.Message):
    __slots__ = ("refuse", "group_id", "group_name", "notification", "introduction", "face_url", "owner_user_id", "ex", "status", "creator_user_id", "group_type", "need_verification", "look_member_info")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEED_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOK_MEMBER_INFO_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    group_id: str
    group_name: str
    notification: str
    introduction: str
    face_url: str
    owner_user_id: str
    ex: str
    status: int
    creator_user_id: str
    group_type: int
    need_verification: int
    look_member_info: int
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., group_id: _Optional[str] = ..., group_name: _Optional[str] = ..., notification: _Optional[str] = ..., introduction: _Optional[str] = ..., face_url: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., ex: _Optional[str] = ..., status: _Optional[int] = ..., creator_user_id: _Optional[str] = ..., group_type: _Optional[int] = ..., need_verification: _Optional[int] = ..., look_member_info: _Optional[int] = ...) -> None: ...

class AfterCreateGroupRequest(_message.Message):
    __slots__ = ("context", "group", "initial_members")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group: GroupInfo
    initial_members: _containers.RepeatedCompositeFieldContainer[InitialMember]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group: _Optional[_Union[GroupInfo, _Mapping]] = ..., initial_members: _Optional[_Iterable[_Union[InitialMember, _Mapping]]] = ...) -> None: ...

class AfterCreateGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JoiningMember(_message.Message):
    __slots__ = ("user_id", "ex")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    ex: str
    def __init__(self, user_id: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class JoiningMemberChange(_message.Message):
    __slots__ = ("user_id", "nickname", "face_url", "role_level", "mute_end_time_ms", "ex")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    ROLE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MUTE_END_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    nickname: str
    face_url: str
    role_level: RoleLevel
    mute_end_time_ms: int
    ex: str
    def __init__(self, user_id: _Optional[str] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., role_level: _Optional[_Union[RoleLevel, str]] = ..., mute_end_time_ms: _Optional[int] = ..., ex: _Optional[str] = ...) -> None: ...

class BeforeMembersJoinGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "members", "group_ex")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    GROUP_EX_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    members: _containers.RepeatedCompositeFieldContainer[JoiningMember]
    group_ex: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., members: _Optional[_Iterable[_Union[JoiningMember, _Mapping]]] = ..., group_ex: _Optional[str] = ...) -> None: ...

class BeforeMembersJoinGroupResponse(_message.Message):
    __slots__ = ("refuse", "members")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    members: _containers.RepeatedCompositeFieldContainer[JoiningMemberChange]
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., members: _Optional[_Iterable[_Union[JoiningMemberChange, _Mapping]]] = ...) -> None: ...

class GroupMemberUpdate(_message.Message):
    __slots__ = ("group_id", "user_id", "nickname", "face_url", "role_level", "ex")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    ROLE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    user_id: str
    nickname: str
    face_url: str
    role_level: RoleLevel
    ex: str
    def __init__(self, group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., role_level: _Optional[_Union[RoleLevel, str]] = ..., ex: _Optional[str] = ...) -> None: ...

class BeforeSetGroupMemberInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupMemberUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupMemberUpdate, _Mapping]] = ...) -> None: ...

class BeforeSetGroupMemberInfoResponse(_message.Message):
    __slots__ = ("refuse", "nickname", "face_url", "role_level", "ex")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    ROLE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    nickname: str
    face_url: str
    role_level: RoleLevel
    ex: str
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., nickname: _Optional[str] = ..., face_url: _Optional[str] = ..., role_level: _Optional[_Union[RoleLevel, str]] = ..., ex: _Optional[str] = ...) -> None: ...

class AfterSetGroupMemberInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupMemberUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupMemberUpdate, _Mapping]] = ...) -> None: ...

class AfterSetGroupMemberInfoResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterQuitGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class AfterQuitGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterKickGroupMemberRequest(_message.Message):
    __slots__ = ("context", "group_id", "kicked_user_ids", "reason")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    KICKED_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    kicked_user_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., kicked_user_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class AfterKickGroupMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AfterDismissGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "owner_user_id", "group_type", "member_user_ids")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_TYPE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    owner_user_id: str
    group_type: int
    member_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., group_type: _Optional[int] = ..., member_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AfterDismissGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeApplyJoinGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "group_type", "applicant_user_id", "request_message", "ex")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_TYPE_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    group_type: int
    applicant_user_id: str
    request_message: str
    ex: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., group_type: _Optional[int] = ..., applicant_user_id: _Optional[str] = ..., request_message: _Optional[str] = ..., ex: _Optional[str] = ...) -> None: ...

class BeforeApplyJoinGroupResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class AfterJoinGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "request_message", "join_source", "inviter_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOIN_SOURCE_FIELD_NUMBER: _ClassVar[int]
    INVITER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    request_message: str
    join_source: JoinSource
    inviter_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., request_message: _Optional[str] = ..., join_source: _Optional[_Union[JoinSource, str]] = ..., inviter_user_id: _Optional[str] = ...) -> None: ...

class AfterJoinGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeInviteUserToGroupRequest(_message.Message):
    __slots__ = ("context", "group_id", "reason", "invited_user_ids")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INVITED_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    reason: str
    invited_user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., reason: _Optional[str] = ..., invited_user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BeforeInviteUserToGroupResponse(_message.Message):
    __slots__ = ("refuse",)
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ...) -> None: ...

class AfterTransferGroupOwnerRequest(_message.Message):
    __slots__ = ("context", "group_id", "old_owner_user_id", "new_owner_user_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    OLD_OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    group_id: str
    old_owner_user_id: str
    new_owner_user_id: str
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., group_id: _Optional[str] = ..., old_owner_user_id: _Optional[str] = ..., new_owner_user_id: _Optional[str] = ...) -> None: ...

class AfterTransferGroupOwnerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GroupInfoUpdate(_message.Message):
    __slots__ = ("group_id", "group_name", "notification", "introduction", "face_url", "ex", "need_verification", "look_member_info", "apply_member_friend")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    NEED_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOK_MEMBER_INFO_FIELD_NUMBER: _ClassVar[int]
    APPLY_MEMBER_FRIEND_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    group_name: str
    notification: str
    introduction: str
    face_url: str
    ex: str
    need_verification: int
    look_member_info: int
    apply_member_friend: int
    def __init__(self, group_id: _Optional[str] = ..., group_name: _Optional[str] = ..., notification: _Optional[str] = ..., introduction: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ..., need_verification: _Optional[int] = ..., look_member_info: _Optional[int] = ..., apply_member_friend: _Optional[int] = ...) -> None: ...

class BeforeSetGroupInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupInfoUpdate, _Mapping]] = ...) -> None: ...

class BeforeSetGroupInfoResponse(_message.Message):
    __slots__ = ("refuse", "group_name", "introduction", "face_url", "ex", "need_verification", "look_member_info", "apply_member_friend")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    NEED_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOK_MEMBER_INFO_FIELD_NUMBER: _ClassVar[int]
    APPLY_MEMBER_FRIEND_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    group_name: str
    introduction: str
    face_url: str
    ex: str
    need_verification: int
    look_member_info: int
    apply_member_friend: int
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., group_name: _Optional[str] = ..., introduction: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ..., need_verification: _Optional[int] = ..., look_member_info: _Optional[int] = ..., apply_member_friend: _Optional[int] = ...) -> None: ...

class AfterSetGroupInfoRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupInfoUpdate, _Mapping]] = ...) -> None: ...

class AfterSetGroupInfoResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BeforeSetGroupInfoExRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupInfoUpdate, _Mapping]] = ...) -> None: ...

class BeforeSetGroupInfoExResponse(_message.Message):
    __slots__ = ("refuse", "group_name", "introduction", "face_url", "ex", "need_verification", "look_member_info", "apply_member_friend")
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    INTRODUCTION_FIELD_NUMBER: _ClassVar[int]
    FACE_URL_FIELD_NUMBER: _ClassVar[int]
    EX_FIELD_NUMBER: _ClassVar[int]
    NEED_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOOK_MEMBER_INFO_FIELD_NUMBER: _ClassVar[int]
    APPLY_MEMBER_FRIEND_FIELD_NUMBER: _ClassVar[int]
    refuse: _common_pb2.Refusal
    group_name: str
    introduction: str
    face_url: str
    ex: str
    need_verification: int
    look_member_info: int
    apply_member_friend: int
    def __init__(self, refuse: _Optional[_Union[_common_pb2.Refusal, _Mapping]] = ..., group_name: _Optional[str] = ..., introduction: _Optional[str] = ..., face_url: _Optional[str] = ..., ex: _Optional[str] = ..., need_verification: _Optional[int] = ..., look_member_info: _Optional[int] = ..., apply_member_friend: _Optional[int] = ...) -> None: ...

class AfterSetGroupInfoExRequest(_message.Message):
    __slots__ = ("context", "update")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.CallbackContext
    update: GroupInfoUpdate
    def __init__(self, context: _Optional[_Union[_common_pb2.CallbackContext, _Mapping]] = ..., update: _Optional[_Union[GroupInfoUpdate, _Mapping]] = ...) -> None: ...

class AfterSetGroupInfoExResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
