// OpenIM callback receiver on Node's http module doing the benchmark's word filtering
// (see ../README.md). One worker per available core, with the cluster module.
"use strict";

const cluster = require("node:cluster");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const AhoCorasick = require("ahocorasick");

const CONTINUE = { actionCode: 0, errCode: 0, errMsg: "", errDlt: "", nextCode: 0 };
const REFUSE = {
  actionCode: 0,
  errCode: 5001,
  errMsg: "message rejected by content policy",
  errDlt: "matched rule: abuse",
  nextCode: 1,
};
const TEXT = 101;

function automaton(path) {
  const words = fs
    .readFileSync(path, "utf8")
    .split("\n")
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  return new AhoCorasick(words);
}

function serve() {
  const refuseAc = automaton(process.env.REFUSE_WORDS);
  const maskAc = automaton(process.env.MASK_WORDS);
  let afterEvents = 0;

  const textOf = (msg) => {
    if (msg.contentType !== TEXT) return [null, null];
    const content = JSON.parse(msg.content || "{}");
    return [content, typeof content.content === "string" ? content.content : null];
  };
  const refused = (text) => text !== null && refuseAc.search(text.toLowerCase()).length > 0;

  const decide = (command, msg) => {
    switch (command) {
      case "callbackBeforeSendSingleMsgCommand":
      case "callbackBeforeSendGroupMsgCommand":
        return refused(textOf(msg)[1]) ? REFUSE : CONTINUE;
      case "callbackBeforeMsgModifyCommand": {
        const [content, text] = textOf(msg);
        if (text === null) return CONTINUE;
        if (refused(text)) return REFUSE;
        const found = maskAc.search(text.toLowerCase());
        if (found.length === 0) return CONTINUE;
        const chars = text.split("");
        for (const [end, words] of found) {
          for (const w of words) chars.fill("*", end - w.length + 1, end + 1);
        }
        content.content = chars.join("");
        return { ...CONTINUE, content: JSON.stringify(content) };
      }
      case "callbackBeforeOfflinePushCommand":
        return {
          ...CONTINUE,
          offlinePushInfo: {
            title: "New message",
            desc: msg.desc || "",
            ex: msg.ex || "",
            iOSPushSound: msg.iOSPushSound || "",
            iOSBadgeCount: Boolean(msg.iOSBadgeCount),
            signalInfo: msg.signalInfo || "",
          },
        };
      case "callbackAfterSendSingleMsgCommand":
      case "callbackAfterSendGroupMsgCommand":
        afterEvents += 1;
        return CONTINUE;
      default:
        return CONTINUE;
    }
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body = CONTINUE;
      try {
        const command = req.url.split("?")[0].split("/").filter(Boolean).pop();
        body = decide(command, JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        body = CONTINUE;
      }
      const out = JSON.stringify(body);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(out),
      });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 65000;
  server.listen(Number(process.env.PORT), process.env.HOST || "127.0.0.1");
}

if (cluster.isPrimary) {
  const workers = os.availableParallelism();
  for (let i = 0; i < workers; i++) cluster.fork();
  console.error(`node peer ready port=${process.env.PORT} workers=${workers}`);
} else {
  serve();
}
