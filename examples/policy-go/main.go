// Command policy-go is a reference openim-policy service in Go: it refuses messages containing
// a word, masks another word through msg-modify, rewrites the offline push title and counts
// after-send events. Every other RPC of the contract answers UNIMPLEMENTED, which the shim reads
// as "continue".
//
//	go run . --listen 127.0.0.1:50051
//
// Flags can also be set by environment variables: POLICY_LISTEN, POLICY_REFUSE_WORD,
// POLICY_MASK_WORD, POLICY_PUSH_TITLE.
package main

import (
	"flag"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	policyv1 "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func main() {
	listen := flag.String("listen", envOr("POLICY_LISTEN", "127.0.0.1:50051"), "address to serve gRPC on")
	refuseWord := flag.String("refuse-word", envOr("POLICY_REFUSE_WORD", "scam"), "refuse messages containing this word")
	maskWord := flag.String("mask-word", envOr("POLICY_MASK_WORD", "spam.example"), "mask this word in messages (msg-modify)")
	pushTitle := flag.String("push-title", envOr("POLICY_PUSH_TITLE", "New message"), "title of offline pushes")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	policy, err := NewPolicy(Config{
		RefuseWord: *refuseWord,
		MaskWord:   *maskWord,
		PushTitle:  *pushTitle,
	}, log)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(2)
	}

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("cannot listen", "addr", *listen, "error", err)
		os.Exit(1)
	}

	server := grpc.NewServer()
	policyv1.RegisterMessageServiceServer(server, policy)
	policyv1.RegisterPushServiceServer(server, policy)
	// The services not registered here (users, friends, groups, conversations) answer
	// UNIMPLEMENTED: the shim continues.
	healthServer := health.NewServer() // "" (the whole server) is SERVING
	for _, name := range []string{
		policyv1.MessageService_ServiceDesc.ServiceName,
		policyv1.PushService_ServiceDesc.ServiceName,
	} {
		healthServer.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(server, healthServer)

	// Stop gracefully on SIGINT/SIGTERM: report NOT_SERVING, finish the calls in flight.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		healthServer.Shutdown()
		server.GracefulStop()
	}()

	log.Info("policy-go ready", "addr", lis.Addr().String())
	if err := server.Serve(lis); err != nil {
		log.Error("serve failed", "error", err)
		os.Exit(1)
	}
}
