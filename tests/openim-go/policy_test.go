package openimgo

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

// The scripted policy: a gRPC server of the openim.policy.v1 contract whose answer to each call
// is set by the test beforehand, keyed by OpenIM's operation ID (which the shim forwards as the
// gRPC metadata `operationid` and in the request's context). Every test case uses its own
// operation ID, so cases run in parallel.

// What the policy does with one call.
type answerKind int

const (
	// answerContinue: an empty response.
	answerContinue answerKind = iota
	// answerChange: a response with change fields set by script.change.
	answerChange
	// answerRefuse: a response with `refuse` set to script.refusal.
	answerRefuse
	// answerSleep: no answer until the shim's deadline has passed (the call's context ends).
	answerSleep
)

// script is the policy's answer to the call with one operation ID.
type script struct {
	kind answerKind
	// change sets the response's change fields; it gets the request too (to copy from it).
	change func(req, resp proto.Message) error
	// refusal of answerRefuse.
	refusal *pb.Refusal
}

// call is what the policy saw of one call.
type call struct {
	method  string
	request proto.Message
}

// scriptedPolicy implements every before-callback RPC; after-callbacks stay UNIMPLEMENTED (the
// test sends none).
type scriptedPolicy struct {
	addr   string
	server *grpc.Server

	mu      sync.Mutex
	scripts map[string]script
	calls   map[string][]call
}

// startPolicy serves the scripted policy on a loopback port until the test ends.
func startPolicy(t *testing.T) *scriptedPolicy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("policy: listen: %v", err)
	}
	p := &scriptedPolicy{
		addr:    lis.Addr().String(),
		server:  grpc.NewServer(),
		scripts: map[string]script{},
		calls:   map[string][]call{},
	}
	pb.RegisterMessageServiceServer(p.server, messageService{p: p})
	pb.RegisterPushServiceServer(p.server, pushService{p: p})
	pb.RegisterUserServiceServer(p.server, userService{p: p})
	pb.RegisterFriendServiceServer(p.server, friendService{p: p})
	pb.RegisterGroupServiceServer(p.server, groupService{p: p})
	healthpb.RegisterHealthServer(p.server, health.NewServer())
	go func() { _ = p.server.Serve(lis) }()
	t.Cleanup(p.server.Stop)
	return p
}

// expect sets the answer to the call with operation ID op.
func (p *scriptedPolicy) expect(op string, s script) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scripts[op] = s
}

// callsOf returns the calls seen with operation ID op.
func (p *scriptedPolicy) callsOf(op string) []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls[op]...)
}

// operationID is the call's operation ID: the metadata the shim sends, else the request's
// context.operation_id.
func operationID(ctx context.Context, req proto.Message) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("operationid"); len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	m := req.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("context"); fd != nil && fd.Message() != nil {
		c := m.Get(fd).Message()
		if f := c.Descriptor().Fields().ByName("operation_id"); f != nil {
			return c.Get(f).String()
		}
	}
	return ""
}

// answer is the body of every RPC: records the call and answers as scripted. A call without a
// script gets FAILED_PRECONDITION (the shim then applies its failure mode); the test sees it
// in the recorded calls.
func answer[Req, Resp proto.Message](ctx context.Context, p *scriptedPolicy, method string, req Req, resp Resp) (Resp, error) {
	var zero Resp
	op := operationID(ctx, req)
	p.mu.Lock()
	p.calls[op] = append(p.calls[op], call{method: method, request: proto.Clone(req)})
	s, ok := p.scripts[op]
	p.mu.Unlock()
	if !ok {
		return zero, status.Errorf(codes.FailedPrecondition, "scripted policy: no script for operation %q (%s)", op, method)
	}
	switch s.kind {
	case answerContinue:
		return resp, nil
	case answerChange:
		if err := s.change(req, resp); err != nil {
			return zero, status.Errorf(codes.Internal, "scripted policy: %s: %v", method, err)
		}
		return resp, nil
	case answerRefuse:
		m := resp.ProtoReflect()
		fd := m.Descriptor().Fields().ByName("refuse")
		if fd == nil {
			return zero, status.Errorf(codes.Internal, "scripted policy: %s has no refuse field", method)
		}
		m.Set(fd, protoreflect.ValueOfMessage(proto.Clone(s.refusal).ProtoReflect()))
		return resp, nil
	case answerSleep:
		// Far past any deadline the shim sets; the call ends when the shim gives up on it.
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
		}
		return resp, nil
	}
	return zero, status.Errorf(codes.Internal, "scripted policy: unknown answer kind %d", s.kind)
}

// setResp adapts a typed change of a response to script.change.
func setResp[R proto.Message](f func(R)) func(req, resp proto.Message) error {
	return func(_, resp proto.Message) error {
		r, ok := resp.(R)
		if !ok {
			return fmt.Errorf("script for %T answers a %T", *new(R), resp)
		}
		f(r)
		return nil
	}
}

// setRespFromReq adapts a typed change that copies from the request.
func setRespFromReq[Q, R proto.Message](f func(Q, R)) func(req, resp proto.Message) error {
	return func(req, resp proto.Message) error {
		q, ok := req.(Q)
		if !ok {
			return fmt.Errorf("script for a %T request got a %T", *new(Q), req)
		}
		r, ok := resp.(R)
		if !ok {
			return fmt.Errorf("script for %T answers a %T", *new(R), resp)
		}
		f(q, r)
		return nil
	}
}

type messageService struct {
	pb.UnimplementedMessageServiceServer
	p *scriptedPolicy
}

func (s messageService) BeforeSendSingleMsg(ctx context.Context, r *pb.BeforeSendSingleMsgRequest) (*pb.BeforeSendSingleMsgResponse, error) {
	return answer(ctx, s.p, "BeforeSendSingleMsg", r, &pb.BeforeSendSingleMsgResponse{})
}

func (s messageService) BeforeSendGroupMsg(ctx context.Context, r *pb.BeforeSendGroupMsgRequest) (*pb.BeforeSendGroupMsgResponse, error) {
	return answer(ctx, s.p, "BeforeSendGroupMsg", r, &pb.BeforeSendGroupMsgResponse{})
}

func (s messageService) BeforeMsgModify(ctx context.Context, r *pb.BeforeMsgModifyRequest) (*pb.BeforeMsgModifyResponse, error) {
	return answer(ctx, s.p, "BeforeMsgModify", r, &pb.BeforeMsgModifyResponse{})
}

type pushService struct {
	pb.UnimplementedPushServiceServer
	p *scriptedPolicy
}

func (s pushService) BeforeOfflinePush(ctx context.Context, r *pb.BeforeOfflinePushRequest) (*pb.BeforeOfflinePushResponse, error) {
	return answer(ctx, s.p, "BeforeOfflinePush", r, &pb.BeforeOfflinePushResponse{})
}

func (s pushService) BeforeOnlinePush(ctx context.Context, r *pb.BeforeOnlinePushRequest) (*pb.BeforeOnlinePushResponse, error) {
	return answer(ctx, s.p, "BeforeOnlinePush", r, &pb.BeforeOnlinePushResponse{})
}

func (s pushService) BeforeGroupOnlinePush(ctx context.Context, r *pb.BeforeGroupOnlinePushRequest) (*pb.BeforeGroupOnlinePushResponse, error) {
	return answer(ctx, s.p, "BeforeGroupOnlinePush", r, &pb.BeforeGroupOnlinePushResponse{})
}

type userService struct {
	pb.UnimplementedUserServiceServer
	p *scriptedPolicy
}

func (s userService) BeforeUserRegister(ctx context.Context, r *pb.BeforeUserRegisterRequest) (*pb.BeforeUserRegisterResponse, error) {
	return answer(ctx, s.p, "BeforeUserRegister", r, &pb.BeforeUserRegisterResponse{})
}

func (s userService) BeforeUpdateUserInfo(ctx context.Context, r *pb.BeforeUpdateUserInfoRequest) (*pb.BeforeUpdateUserInfoResponse, error) {
	return answer(ctx, s.p, "BeforeUpdateUserInfo", r, &pb.BeforeUpdateUserInfoResponse{})
}

func (s userService) BeforeUpdateUserInfoEx(ctx context.Context, r *pb.BeforeUpdateUserInfoExRequest) (*pb.BeforeUpdateUserInfoExResponse, error) {
	return answer(ctx, s.p, "BeforeUpdateUserInfoEx", r, &pb.BeforeUpdateUserInfoExResponse{})
}

type friendService struct {
	pb.UnimplementedFriendServiceServer
	p *scriptedPolicy
}

func (s friendService) BeforeAddFriend(ctx context.Context, r *pb.BeforeAddFriendRequest) (*pb.BeforeAddFriendResponse, error) {
	return answer(ctx, s.p, "BeforeAddFriend", r, &pb.BeforeAddFriendResponse{})
}

func (s friendService) BeforeAddFriendAgree(ctx context.Context, r *pb.BeforeAddFriendAgreeRequest) (*pb.BeforeAddFriendAgreeResponse, error) {
	return answer(ctx, s.p, "BeforeAddFriendAgree", r, &pb.BeforeAddFriendAgreeResponse{})
}

func (s friendService) BeforeImportFriends(ctx context.Context, r *pb.BeforeImportFriendsRequest) (*pb.BeforeImportFriendsResponse, error) {
	return answer(ctx, s.p, "BeforeImportFriends", r, &pb.BeforeImportFriendsResponse{})
}

func (s friendService) BeforeSetFriendRemark(ctx context.Context, r *pb.BeforeSetFriendRemarkRequest) (*pb.BeforeSetFriendRemarkResponse, error) {
	return answer(ctx, s.p, "BeforeSetFriendRemark", r, &pb.BeforeSetFriendRemarkResponse{})
}

func (s friendService) BeforeAddBlack(ctx context.Context, r *pb.BeforeAddBlackRequest) (*pb.BeforeAddBlackResponse, error) {
	return answer(ctx, s.p, "BeforeAddBlack", r, &pb.BeforeAddBlackResponse{})
}

type groupService struct {
	pb.UnimplementedGroupServiceServer
	p *scriptedPolicy
}

func (s groupService) BeforeCreateGroup(ctx context.Context, r *pb.BeforeCreateGroupRequest) (*pb.BeforeCreateGroupResponse, error) {
	return answer(ctx, s.p, "BeforeCreateGroup", r, &pb.BeforeCreateGroupResponse{})
}

func (s groupService) BeforeMembersJoinGroup(ctx context.Context, r *pb.BeforeMembersJoinGroupRequest) (*pb.BeforeMembersJoinGroupResponse, error) {
	return answer(ctx, s.p, "BeforeMembersJoinGroup", r, &pb.BeforeMembersJoinGroupResponse{})
}

func (s groupService) BeforeSetGroupMemberInfo(ctx context.Context, r *pb.BeforeSetGroupMemberInfoRequest) (*pb.BeforeSetGroupMemberInfoResponse, error) {
	return answer(ctx, s.p, "BeforeSetGroupMemberInfo", r, &pb.BeforeSetGroupMemberInfoResponse{})
}

func (s groupService) BeforeApplyJoinGroup(ctx context.Context, r *pb.BeforeApplyJoinGroupRequest) (*pb.BeforeApplyJoinGroupResponse, error) {
	return answer(ctx, s.p, "BeforeApplyJoinGroup", r, &pb.BeforeApplyJoinGroupResponse{})
}

func (s groupService) BeforeInviteUserToGroup(ctx context.Context, r *pb.BeforeInviteUserToGroupRequest) (*pb.BeforeInviteUserToGroupResponse, error) {
	return answer(ctx, s.p, "BeforeInviteUserToGroup", r, &pb.BeforeInviteUserToGroupResponse{})
}

func (s groupService) BeforeSetGroupInfo(ctx context.Context, r *pb.BeforeSetGroupInfoRequest) (*pb.BeforeSetGroupInfoResponse, error) {
	return answer(ctx, s.p, "BeforeSetGroupInfo", r, &pb.BeforeSetGroupInfoResponse{})
}

func (s groupService) BeforeSetGroupInfoEx(ctx context.Context, r *pb.BeforeSetGroupInfoExRequest) (*pb.BeforeSetGroupInfoExResponse, error) {
	return answer(ctx, s.p, "BeforeSetGroupInfoEx", r, &pb.BeforeSetGroupInfoExResponse{})
}
