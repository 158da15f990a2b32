// A local SMSC for the SMPP transport's tests and benchmark, on the `smpp` npm package (an
// implementation independent of ours). It prints one JSON object per line on stdout and takes
// commands, one per line, on stdin.
//
//   node server.js [--port 0] [--system-id contos] [--password secret] [--latency-ms 0]
//                  [--receipt-delay-ms 5] [--no-receipts] [--quiet]
//                  [--tls-cert server.pem --tls-key server.key]   (SMPP over TLS)
//
// Binds: bind_transceiver with the configured system_id and password (a wrong password gets
// ESME_RINVPASWD, an unknown system_id ESME_RINVSYSID). submit_sm is answered with a fresh
// message_id, or by its destination number:
//   ...9991 ESME_RTHROTTLED   ...9992 ESME_RINVDSTADR
//   ...9993 an UNDELIV receipt (text only)   ...9994 an EXPIRED receipt (TLVs only, no text)
//   ...9995 a receipt that cannot be read (no id anywhere)   else a DELIVRD receipt (text and
//   TLVs), each sent as deliver_sm --receipt-delay-ms after the answer. A deliver_sm answered
//   with an error status is delivered again (up to 5 times).
// Output events: listening {port}, bind, submit_sm {destination, source, data_coding,
// esm_class, registered_delivery, udh (hex), short_message (hex, after the UDH), message_id,
// status, held, outstanding}, deliver_sm, deliver_sm_resp {status, message_id, attempt},
// enquire_link, unbind, dropped, stats. With --quiet, submit_sm and deliver_sm lines are left
// out (the benchmark).
// Commands: hold (answers to submit_sm wait), release (send the waiting answers; holding goes
// on), unhold (release and stop holding), drop (close every connection now), drop_on_submit
// (the next submit_sm closes its connection unanswered), refuse <digits> <status>,
// refuse_next <status>, latency <ms>, stats.
'use strict';

const fs = require('fs');
const readline = require('readline');
const smpp = require('smpp');

// Keep short_message as raw bytes: the test asserts on the wire format.
delete smpp.commands.submit_sm.params.short_message.filter;

const args = process.argv.slice(2);
function option(name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}
const config = {
  port: Number(option('--port', '0')),
  systemId: option('--system-id', 'contos'),
  password: option('--password', 'secret'),
  latencyMs: Number(option('--latency-ms', '0')),
  receiptDelayMs: Number(option('--receipt-delay-ms', '5')),
  receipts: !args.includes('--no-receipts'),
  quiet: args.includes('--quiet'),
  tlsCert: option('--tls-cert', ''),
  tlsKey: option('--tls-key', ''),
};

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event: event }, fields || {})) + '\n');
}

const state = {
  counter: 0,
  submits: 0,
  binds: 0,
  hold: false,
  held: [], // functions that send a held answer
  outstanding: 0, // submits received and not answered, across sessions
  maxOutstanding: 0,
  dropOnSubmit: false,
  refuse: {}, // digits -> status
  refuseNext: null,
  enquireLinks: 0,
};

function smppTime(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return (
    pad(date.getUTCFullYear() % 100) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) +
    pad(date.getUTCHours()) + pad(date.getUTCMinutes())
  );
}

function sendReceipt(session, submit, messageId, kind, attempt) {
  if (session.socket.destroyed) {
    return;
  }
  const now = smppTime(new Date());
  const stat = { delivered: 'DELIVRD', undelivered: 'UNDELIV', expired: 'EXPIRED' }[kind];
  const states = { delivered: 2, undelivered: 5, expired: 3 };
  const options = {
    source_addr_ton: submit.dest_addr_ton,
    source_addr_npi: submit.dest_addr_npi,
    source_addr: submit.destination_addr,
    dest_addr_ton: submit.source_addr_ton,
    dest_addr_npi: submit.source_addr_npi,
    destination_addr: submit.source_addr,
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.alloc(0),
  };
  const text = `id:${messageId} sub:001 dlvrd:${kind === 'delivered' ? '001' : '000'} ` +
    `submit date:${now} done date:${now} stat:${stat} ` +
    `err:${kind === 'delivered' ? '000' : '012'} text:Objednavka`;
  if (kind === 'malformed') {
    options.short_message = Buffer.from('this is no receipt at all', 'ascii');
  } else if (kind === 'expired') {
    options.receipted_message_id = messageId;
    options.message_state = states[kind];
  } else if (kind === 'undelivered') {
    options.short_message = Buffer.from(text, 'ascii');
  } else {
    options.short_message = Buffer.from(text, 'ascii');
    options.receipted_message_id = messageId;
    options.message_state = states[kind];
  }
  if (!config.quiet) {
    emit('deliver_sm', { message_id: messageId, kind: kind, attempt: attempt });
  }
  session.deliver_sm(options, function (resp) {
    emit('deliver_sm_resp', { status: resp.command_status, message_id: messageId, attempt: attempt });
    if (resp.command_status !== 0 && attempt < 5) {
      setTimeout(() => sendReceipt(session, submit, messageId, kind, attempt + 1), 20);
    }
  });
}

function statusFor(digits) {
  if (state.refuseNext !== null) {
    const status = state.refuseNext;
    state.refuseNext = null;
    return status;
  }
  if (digits in state.refuse) {
    return state.refuse[digits];
  }
  if (digits.endsWith('9991')) {
    return smpp.ESME_RTHROTTLED;
  }
  if (digits.endsWith('9992')) {
    return smpp.ESME_RINVDSTADR;
  }
  return 0;
}

function receiptKind(digits) {
  if (digits.endsWith('9993')) return 'undelivered';
  if (digits.endsWith('9994')) return 'expired';
  if (digits.endsWith('9995')) return 'malformed';
  return 'delivered';
}

function onSubmit(session, pdu) {
  state.submits += 1;
  if (state.dropOnSubmit) {
    state.dropOnSubmit = false;
    emit('dropped', { on: 'submit_sm', destination: pdu.destination_addr });
    session.destroy();
    return;
  }
  const raw = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  const udhi = (pdu.esm_class & 0x40) !== 0 && raw.length > 0;
  const udh = udhi ? raw.slice(0, raw[0] + 1) : Buffer.alloc(0);
  const body = udhi ? raw.slice(raw[0] + 1) : raw;
  const status = statusFor(pdu.destination_addr);
  const messageId = status === 0 ? (++state.counter).toString(16).padStart(8, '0') : '';
  state.outstanding += 1;
  state.maxOutstanding = Math.max(state.maxOutstanding, state.outstanding);
  if (!config.quiet) {
    emit('submit_sm', {
      destination: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      source: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton,
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      udh: udh.toString('hex'),
      short_message: body.toString('hex'),
      message_id: messageId,
      status: status,
      held: state.hold,
      outstanding: state.outstanding,
    });
  }
  const answer = function () {
    state.outstanding -= 1;
    if (session.socket.destroyed) {
      return;
    }
    const options = status === 0 ? { message_id: messageId } : { command_status: status };
    session.send(pdu.response(options));
    if (status === 0 && config.receipts) {
      const kind = receiptKind(pdu.destination_addr);
      setTimeout(() => sendReceipt(session, pdu, messageId, kind, 1), config.receiptDelayMs);
    }
  };
  if (state.hold) {
    state.held.push(answer);
  } else if (config.latencyMs > 0) {
    setTimeout(answer, config.latencyMs);
  } else {
    answer();
  }
}

const serverOptions = config.tlsCert
  ? { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) }
  : {};
const server = smpp.createServer(serverOptions, function (session) {
  let bound = false;
  session.socket.setNoDelay(true);
  session.on('error', function () {});
  session.socket.on('error', function () {}); // (a client that refuses our certificate)
  session.on('bind_transceiver', function (pdu) {
    state.binds += 1;
    let status = 0;
    if (pdu.system_id !== config.systemId) {
      status = smpp.ESME_RINVSYSID;
    } else if (pdu.password !== config.password) {
      status = smpp.ESME_RINVPASWD;
    }
    emit('bind', { system_id: pdu.system_id, system_type: pdu.system_type, status: status });
    if (status === 0) {
      bound = true;
      session.send(pdu.response({ system_id: 'nodesmsc' }));
    } else {
      session.send(pdu.response({ command_status: status }));
      session.close();
    }
  });
  for (const other of ['bind_transmitter', 'bind_receiver']) {
    session.on(other, function (pdu) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
    });
  }
  session.on('submit_sm', function (pdu) {
    if (!bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    onSubmit(session, pdu);
  });
  session.on('enquire_link', function (pdu) {
    state.enquireLinks += 1;
    emit('enquire_link', { count: state.enquireLinks });
    session.send(pdu.response());
  });
  session.on('unbind', function (pdu) {
    emit('unbind', {});
    session.send(pdu.response(), function () {
      session.close();
    });
  });
});

function stats() {
  emit('stats', {
    submits: state.submits,
    held: state.held.length,
    outstanding: state.outstanding,
    max_outstanding: state.maxOutstanding,
    binds: state.binds,
    sessions: server.sessions.length,
    enquire_links: state.enquireLinks,
  });
}

const commands = {
  hold: () => { state.hold = true; },
  release: () => { const held = state.held; state.held = []; held.forEach((f) => f()); },
  unhold: () => { state.hold = false; commands.release(); },
  drop: () => {
    const sessions = server.sessions.slice();
    sessions.forEach((s) => s.destroy());
    emit('dropped', { on: 'command', sessions: sessions.length });
  },
  drop_on_submit: () => { state.dropOnSubmit = true; },
  refuse: (digits, status) => { state.refuse[digits] = Number(status); },
  refuse_next: (status) => { state.refuseNext = Number(status); },
  latency: (ms) => { config.latencyMs = Number(ms); },
  stats: stats,
};

readline.createInterface({ input: process.stdin }).on('line', function (line) {
  const [name, ...rest] = line.trim().split(/\s+/);
  if (name in commands) {
    commands[name](...rest);
    emit('done', { command: name });
  } else if (name) {
    emit('error', { unknown_command: name });
  }
});
process.stdin.on('end', () => process.exit(0));

server.listen(config.port, '127.0.0.1', function () {
  emit('listening', { port: server.address().port });
});
