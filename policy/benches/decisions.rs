//! Benchmark of the default engine's hot path: the sensitive-word scan with a 10,000-word
//! dictionary over realistic chat text (mixed Chinese and ASCII), and a full before-send
//! decision (protobuf request decoded, every rule evaluated, response encoded).
//!
//! Run: `cargo bench -p openim-policy --bench decisions` (release build; prints MB/s and
//! per-message latency percentiles). `cargo test` runs it as a quick smoke test (few
//! iterations, unoptimised build: its figures mean nothing, it checks that the benchmark works
//! and that planted words are found).
//!
//! The dictionary and the messages are generated from a fixed seed: the same run gives the same
//! data on every machine.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use openim_policy::{Engine, RuleEngine, TextField, TextVerdict, rules::RulesFile};
use policy_proto::v1 as pb;
use prost::Message as _;

/// Deterministic xorshift64* generator: no dependency, same data everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Characters of the dictionary's Chinese words (the kind of vocabulary word lists hold).
const DICT_HANZI: &str = "赌博彩票代开发票枪支弹药毒品冰毒摇头丸色情裸聊约炮援交高利贷套现洗钱传销诈骗刷单返利兼职日结办证假币黑客木马外挂私服翻墙代孕器官贩卖迷药窃听偷拍博彩六合彩老虎机百家乐筹码赌场庄家下注返水充值提现跑分洗白暗网";
/// Characters of everyday chat.
const CHAT_PHRASES: &[&str] = &[
    "今天晚上一起吃饭吗？",
    "好的，没问题",
    "我马上到，等我五分钟",
    "这个价格太贵了，能便宜点吗",
    "明天上午十点开会，别忘了",
    "哈哈哈哈笑死我了😂",
    "收到，谢谢！",
    "你看到我发的文件了吗",
    "周末去爬山怎么样",
    "老板说项目延期到下周",
    "ok see you at 8pm",
    "can you send me the report?",
    "lol that's hilarious",
    "meeting moved to 3:30, room B",
    "I'll be there in 10 min",
    "thanks for your help!",
    "check the doc at https://docs.example.com/guide",
    "version 2.3.1 is out, please update",
    "明天的 demo 准备好了吗？",
    "这个 bug 我来修，PR 晚点提",
    "下载地址在群公告里",
    "生日快乐🎂🎉",
    "路上堵车，晚到一会儿",
    "今天天气不错，适合出去走走",
    "帮我带杯咖啡，谢谢",
    "图片太大发不出来",
    "我们组的周报已经提交了",
    "要不要订明天的高铁票",
    "刚才电话没听到，什么事",
    "OK，我知道了",
    "快来 www.lucky-prize.cn 领红包",
];

fn dictionary(rng: &mut Rng, n: usize) -> Vec<String> {
    let hanzi: Vec<char> = DICT_HANZI.chars().collect();
    let mut words = std::collections::BTreeSet::new();
    while words.len() < n {
        let word: String = if rng.below(10) < 6 {
            let len = 2 + rng.below(3);
            (0..len).map(|_| *rng.pick(&hanzi)).collect()
        } else {
            let len = 5 + rng.below(6);
            (0..len)
                .map(|_| char::from(b'a' + rng.below(26) as u8))
                .collect()
        };
        words.insert(word);
    }
    words.into_iter().collect()
}

/// Chat messages of 1 to 8 phrases; about one in twenty carries a dictionary word, sometimes
/// written to dodge the filter (full width, separators).
fn messages(rng: &mut Rng, n: usize, dict: &[String]) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut m = String::new();
            for _ in 0..1 + rng.below(8) {
                let phrase: &&str = rng.pick(CHAT_PHRASES);
                m.push_str(phrase);
                m.push(' ');
            }
            if rng.below(20) == 0 {
                let word = rng.pick(dict);
                let planted: String = match rng.below(3) {
                    0 => word.clone(),
                    1 => word.chars().map(|c| format!("{c}.")).collect(),
                    _ => word
                        .chars()
                        .map(|c| {
                            if c.is_ascii_lowercase() {
                                char::from_u32(c as u32 - 'a' as u32 + 'Ａ' as u32).unwrap_or(c)
                            } else {
                                c
                            }
                        })
                        .collect(),
                };
                let at = m
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(rng.below(m.chars().count()))
                    .unwrap_or(0);
                m.insert_str(at, &planted);
            }
            m
        })
        .collect()
}

fn rules(dict: &[String], action: &str) -> String {
    let words: Vec<String> = dict.iter().map(|w| format!("\"{w}\"")).collect();
    format!(
        "wordLists:\n  - name: dict\n    action: {action}\n    ignoreSeparators: true\n    words: [{}]\n",
        words.join(", ")
    )
}

/// Latency figures of a set of timings.
struct Figures {
    mb_per_s: f64,
    mean: Duration,
    p50: Duration,
    p99: Duration,
    calls: usize,
}

fn measure(inputs: &[&[u8]], rounds: usize, mut call: impl FnMut(usize)) -> Figures {
    // Warm-up: thread-local buffers, caches, branch predictors.
    for i in 0..inputs.len().min(200) {
        call(i);
    }
    let mut times = Vec::with_capacity(inputs.len() * rounds);
    let mut bytes = 0usize;
    for _ in 0..rounds {
        for (i, input) in inputs.iter().enumerate() {
            let t = Instant::now();
            call(i);
            times.push(t.elapsed());
            bytes += input.len();
        }
    }
    times.sort_unstable();
    let busy: Duration = times.iter().sum();
    Figures {
        mb_per_s: bytes as f64 / busy.as_secs_f64() / 1e6,
        mean: busy / times.len() as u32,
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        calls: times.len(),
    }
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name:<44} {:>8.1} MB/s   mean {:>8.2?}   p50 {:>8.2?}   p99 {:>8.2?}   ({} calls)",
        f.mb_per_s, f.mean, f.p50, f.p99, f.calls
    );
}

fn text_message(text: &str) -> pb::Message {
    pb::Message {
        sender_user_id: "4826475913".into(),
        receiver_user_id: "7190283365".into(),
        sender_nickname: "Alice".into(),
        session_type: pb::SessionType::Single as i32,
        msg_from: pb::MsgFrom::User as i32,
        content_type: pb::ContentType::Text as i32,
        content: serde_json::json!({ "content": text }).to_string(),
        client_msg_id: "3b8e1f6a2c7d4e9051a6b7c8d9e0f1a2".into(),
        server_msg_id: "9f2c4e7a1b3d5f60718293a4b5c6d7e8".into(),
        ..Default::default()
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n_messages, rounds) = if full { (2_000, 20) } else { (200, 1) };
    let mut rng = Rng(0x005E_ED0F_0CEA_u64);
    let dict = dictionary(&mut rng, 10_000);
    let msgs = messages(&mut rng, n_messages, &dict);
    let total: usize = msgs.iter().map(String::len).sum();
    let cjk = msgs
        .iter()
        .flat_map(|m| m.chars())
        .filter(|c| !c.is_ascii())
        .count();
    let chars: usize = msgs.iter().map(|m| m.chars().count()).sum();
    println!(
        "{} mode: {} dictionary words, {} messages, {:.0} bytes/message on average, {:.0}% non-ASCII characters",
        if full { "benchmark" } else { "smoke" },
        dict.len(),
        msgs.len(),
        total as f64 / msgs.len() as f64,
        100.0 * cjk as f64 / chars as f64
    );

    let build = Instant::now();
    let flag = RuleEngine::from_rules(RulesFile::parse(&rules(&dict, "flag")).unwrap()).unwrap();
    println!(
        "engine built in {:.2?} (10,000 words, folded, one automaton)",
        build.elapsed()
    );
    let mask = RuleEngine::from_rules(RulesFile::parse(&rules(&dict, "mask")).unwrap()).unwrap();

    // 1. The word scan alone: fold + Aho-Corasick, flag lists (match, count, change nothing).
    let inputs: Vec<&[u8]> = msgs.iter().map(|m| m.as_bytes()).collect();
    let f = measure(&inputs, rounds, |i| {
        black_box(flag.check_text(
            &Default::default(),
            TextField::GroupIntroduction,
            black_box(&msgs[i]),
        ));
    });
    report("word scan (10k words, separators ignored)", &f);

    // 2. Masking through msg-modify: JSON content parsed, scanned, rewritten when hit.
    let modify: Vec<pb::Message> = msgs.iter().map(|m| text_message(m)).collect();
    let masked = modify
        .iter()
        .filter(|m| {
            mask.modify_message(&Default::default(), m)
                .content
                .is_some()
        })
        .count();
    let f = measure(&inputs, rounds, |i| {
        black_box(mask.modify_message(&Default::default(), black_box(&modify[i])));
    });
    report("msg-modify decision (mask, 10k words)", &f);

    // 3. A full before-send decision with every rule: protobuf in, protobuf out.
    let yaml = format!(
        "{}  - name: abuse\n    action: refuse\n    words: [idiot, 傻瓜]\nmutes:\n  users: [muted-1, muted-2]\n  groups: [g-muted]\nrateLimit: {{messages: 1000000, per: 1s}}\ncontentTypes:\n  group: {{deny: [file]}}\nlimits: {{maxTextLength: 5000, maxContentBytes: 65536}}\nlinks:\n  action: refuse\n  allowDomains: [example.com]\n",
        rules(&dict, "mask")
    );
    let all = RuleEngine::from_rules(RulesFile::parse(&yaml).unwrap()).unwrap();
    let requests: Vec<Vec<u8>> = modify
        .iter()
        .map(|m| {
            pb::BeforeSendSingleMsgRequest {
                context: Some(pb::CallbackContext {
                    operation_id: "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607".into(),
                    command: "callbackBeforeSendSingleMsgCommand".into(),
                    ..Default::default()
                }),
                message: Some(m.clone()),
            }
            .encode_to_vec()
        })
        .collect();
    let request_inputs: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
    let refused = modify
        .iter()
        .filter(|m| all.check_message(&Default::default(), m).is_some())
        .count();
    let f = measure(&request_inputs, rounds, |i| {
        let request =
            pb::BeforeSendSingleMsgRequest::decode(black_box(requests[i].as_slice())).unwrap();
        let refuse = all.check_message(&Default::default(), request.message.as_ref().unwrap());
        black_box(pb::BeforeSendSingleMsgResponse { refuse }.encode_to_vec());
    });
    report("full before-send decision (all rules)", &f);

    // Sanity, so that the smoke run can fail: planted words are found, plain chat is not hit.
    let planted = msgs
        .iter()
        .filter(|m| {
            !matches!(
                flag.check_text(&Default::default(), TextField::GroupIntroduction, m),
                TextVerdict::Refuse(_)
            )
        })
        .count();
    assert_eq!(planted, msgs.len(), "flag lists never refuse");
    assert!(
        masked > 0 && masked < msgs.len() / 4,
        "{masked} of {} messages masked",
        msgs.len()
    );
    assert!(
        refused > 0 && refused < msgs.len() / 2,
        "{refused} of {} refused",
        msgs.len()
    );
    let hit = mask.check_text(
        &Default::default(),
        TextField::GroupIntroduction,
        &format!("x {} y", dict[0]),
    );
    assert!(
        matches!(hit, TextVerdict::Replace(ref t) if t.contains('*')),
        "{hit:?}"
    );
    println!(
        "{masked} of {} messages masked by msg-modify; {refused} refused by the full decision (links to sites outside the allow-list)",
        msgs.len()
    );
}
