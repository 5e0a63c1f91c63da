// Reference openim-policy service in Node.js: refuses messages containing a word, masks another
// word through msg-modify, rewrites the offline push title and counts after-send events. Every
// other RPC of the contract answers UNIMPLEMENTED, which the shim reads as "continue".
//
//   node policy.js --listen 127.0.0.1:50051
//
// Flags can also be set by environment variables: POLICY_LISTEN, POLICY_REFUSE_WORD,
// POLICY_MASK_WORD, POLICY_PUSH_TITLE, POLICY_PROTO_DIR (the folder holding openim/policy/v1/).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';

import { Policy } from './decisions.js';

/** Logs one line on stderr: a message and key=value fields. */
function log(msg, fields = {}) {
  const kv = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  console.error([new Date().toISOString(), msg, ...kv].join(' '));
}

/** Loads the contract from its .proto files (no generated code needed). */
function loadContract(protoDir) {
  const files = ['message', 'push'].map((f) => `openim/policy/v1/${f}.proto`);
  const definition = protoLoader.loadSync(files, {
    includeDirs: [protoDir],
    enums: String, // enum values by name, e.g. contentType 'CONTENT_TYPE_TEXT'
    longs: String,
    defaults: true, // absent scalar fields read as their default ('' / 0 / false)
  });
  return grpc.loadPackageDefinition(definition).openim.policy.v1;
}

/** Handlers of the scenario's RPCs; grpc-js answers UNIMPLEMENTED for the ones left out. */
function handlers(policy) {
  const refuseIfNeeded = (rpc) => (call, callback) => {
    const refuse = policy.refusal(call.request.message);
    if (refuse) log('refused', { rpc, operation_id: call.request.context?.operationId });
    callback(null, refuse ? { refuse } : {});
  };
  const countEvent = (rpc) => (call, callback) => {
    const ctx = call.request.context ?? {};
    const { count, duplicate } = policy.events.add(ctx.idempotencyKey);
    log('after-event', {
      rpc,
      operation_id: ctx.operationId,
      idempotency_key: ctx.idempotencyKey,
      attempt: ctx.deliveryAttempt,
      duplicate,
      count,
    });
    callback(null, {});
  };
  return {
    message: {
      BeforeSendSingleMsg: refuseIfNeeded('BeforeSendSingleMsg'),
      BeforeSendGroupMsg: refuseIfNeeded('BeforeSendGroupMsg'),
      BeforeMsgModify(call, callback) {
        const content = policy.maskedContent(call.request.message);
        if (content === null) return callback(null, {}); // continue, unchanged
        log('masked', { rpc: 'BeforeMsgModify', operation_id: call.request.context?.operationId });
        callback(null, { content });
      },
      AfterSendSingleMsg: countEvent('AfterSendSingleMsg'),
      AfterSendGroupMsg: countEvent('AfterSendGroupMsg'),
    },
    push: {
      BeforeOfflinePush(call, callback) {
        // The reply replaces ALL push texts: start from the request's.
        const info = { ...call.request.push?.offlinePushInfo, title: policy.pushTitle };
        callback(null, { offlinePushInfo: info });
      },
    },
  };
}

function main() {
  const env = process.env;
  const { values: args } = parseArgs({
    options: {
      listen: { type: 'string', default: env.POLICY_LISTEN ?? '127.0.0.1:50051' },
      'refuse-word': { type: 'string', default: env.POLICY_REFUSE_WORD ?? 'scam' },
      'mask-word': { type: 'string', default: env.POLICY_MASK_WORD ?? 'spam.example' },
      'push-title': { type: 'string', default: env.POLICY_PUSH_TITLE ?? 'New message' },
      'proto-dir': {
        type: 'string',
        default: env.POLICY_PROTO_DIR ?? fileURLToPath(new URL('../../proto', import.meta.url)),
      },
    },
  });
  const policy = new Policy({
    refuseWord: args['refuse-word'],
    maskWord: args['mask-word'],
    pushTitle: args['push-title'],
  });
  const v1 = loadContract(args['proto-dir']);
  const { message, push } = handlers(policy);

  const server = new grpc.Server();
  server.addService(v1.MessageService.service, message);
  server.addService(v1.PushService.service, push);
  // The services not added here (users, friends, groups, conversations) answer
  // UNIMPLEMENTED: the shim continues.
  const health = new HealthImplementation({
    '': 'SERVING',
    'openim.policy.v1.MessageService': 'SERVING',
    'openim.policy.v1.PushService': 'SERVING',
  });
  health.addToServer(server);

  server.bindAsync(args.listen, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      log('cannot listen', { addr: args.listen, error: err.message });
      process.exit(1);
    }
    log('policy-node ready', { addr: args.listen });
  });

  // Stop gracefully on SIGINT/SIGTERM: report NOT_SERVING, finish the calls in flight.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      health.setStatus('', 'NOT_SERVING');
      server.tryShutdown(() => process.exit(0));
    });
  }
}

main();
