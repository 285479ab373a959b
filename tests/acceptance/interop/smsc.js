#!/usr/bin/env node
// A small SMSC on node-smpp (farhadi/node-smpp), the third-party peer of the
// gateway's interoperability tests (tests/acceptance/interop/conftest.py starts it).
//
//   node smsc.js [--port 0] [--host 127.0.0.1] [--system-id gateway] [--password secret]
//                [--receipt-delay-ms 0] [--throttle-every 0] [--drop-after 0]
//                [--stat DELIVRD] [--first-message-id 1] [--receipt-esm-class 4]
//                [--receipt-format both] [--lose-receipts 0]
//
// Every option can also come from the environment: SMSC_PORT, SMSC_HOST,
// SMSC_SYSTEM_ID, SMSC_PASSWORD, SMSC_RECEIPT_DELAY_MS, SMSC_THROTTLE_EVERY,
// SMSC_DROP_AFTER, SMSC_STAT, SMSC_FIRST_MESSAGE_ID, SMSC_RECEIPT_ESM_CLASS,
// SMSC_RECEIPT_FORMAT, SMSC_LOSE_RECEIPTS (argv wins).
//
// Behaviour:
// - bind_transmitter / bind_receiver / bind_transceiver with the configured
//   system_id and password are accepted; a wrong system_id is refused with
//   ESME_RBINDFAIL, a wrong password with ESME_RINVPASWD, then the connection
//   is closed (as node-smpp's README server does).
// - submit_sm is answered with an incrementing decimal message id;
//   --throttle-every N answers every Nth submit (counted over the whole
//   server) with ESME_RTHROTTLED (0x58) instead.
// - --drop-after N: the Nth submit on a connection is not answered; the socket
//   is destroyed at once (no unbind).
// - registered_delivery & 1 asks for a receipt: after --receipt-delay-ms a
//   deliver_sm (esm_class 0x04, data_coding 0) with the SMPP 3.4 Appendix B
//   text and the receipted_message_id + message_state TLVs goes out on the
//   same connection if it can receive, else on another receiver bound with
//   the same system_id. --receipt-esm-class sets its esm_class (0: as SMSCs
//   that mark receipts like MO messages); --receipt-format text|tlv|both says
//   whether it carries the text, the TLVs or both; --lose-receipts 1 never
//   sends them (event receipt_withheld).
// - query_sm for an id it gave out is answered with the message's state
//   (message_state, final_date, error_code), else ESME_RQUERYFAIL (0x67).
//
// stdout: one JSON object per line. The first is {"event":"listening","port":N};
// then bind, submit, receipt_sent, deliver_sm_resp, enquire_link, unbind,
// drop, close, error. short_message and message_payload are reported raw, in
// hex (the gateway's tests decode them with the gateway's own text layer).
'use strict';

const smpp = require('smpp');

function option(name, fallback) {
  const flag = '--' + name;
  const i = process.argv.indexOf(flag);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const env = 'SMSC_' + name.toUpperCase().replace(/-/g, '_');
  if (process.env[env] !== undefined) return process.env[env];
  return fallback;
}

const config = {
  host: option('host', '127.0.0.1'),
  port: parseInt(option('port', '0'), 10),
  systemId: option('system-id', 'gateway'),
  password: option('password', 'secret'),
  receiptDelayMs: parseInt(option('receipt-delay-ms', '0'), 10),
  throttleEvery: parseInt(option('throttle-every', '0'), 10),
  dropAfter: parseInt(option('drop-after', '0'), 10),
  stat: option('stat', 'DELIVRD'),
  firstMessageId: parseInt(option('first-message-id', '1'), 10),
  receiptEsmClass: parseInt(option('receipt-esm-class', '4'), 10),
  receiptFormat: option('receipt-format', 'both'),
  loseReceipts: option('lose-receipts', '0') === '1',
};

// Keep short_message and message_payload as raw Buffers: the tests want the
// octets the gateway sent, not node-smpp's decoding of them.
const rawMessage = {encode: smpp.filters.message.encode, decode: (value) => value};
smpp.commands.submit_sm.params.short_message.filter = rawMessage;
smpp.commands.deliver_sm.params.short_message.filter = rawMessage;
smpp.tlvs.message_payload.filter = rawMessage;

const MESSAGE_STATES = {DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8};

let nextMessageId = config.firstMessageId;
let submitsSeen = 0;
let nextSessionId = 1;
const receivers = new Set();
const finalStates = new Map();  // message id -> {state, error, at} for query_sm

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({event: event}, fields)) + '\n');
}

function hex(value) {
  return Buffer.isBuffer(value) ? value.toString('hex') : null;
}

function concatInfo(pdu) {
  const sm = pdu.short_message;
  let udh = null;
  if ((pdu.esm_class & 0x40) && Buffer.isBuffer(sm) && sm.length > 0) {
    const end = 1 + sm[0];
    for (let i = 1; i + 1 < end && i + 1 < sm.length;) {
      const iei = sm[i], len = sm[i + 1];
      if (iei === 0x00 && len === 3) udh = {ref: sm[i + 2], total: sm[i + 3], seq: sm[i + 4], bits: 8};
      if (iei === 0x08 && len === 4) udh = {ref: (sm[i + 2] << 8) | sm[i + 3], total: sm[i + 4], seq: sm[i + 5], bits: 16};
      i += 2 + len;
    }
  }
  let sar = null;
  if (pdu.sar_msg_ref_num !== undefined) {
    sar = {ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum};
  }
  return {udh: udh, sar: sar};
}

function smppDate(date) {
  const two = (n) => ('0' + n).slice(-2);
  return two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes());
}

function snippet(pdu) {
  // The first 20 characters for "text:", kept to characters every alphabet agrees on.
  let body = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  if ((pdu.esm_class & 0x40) && body.length) body = body.slice(1 + body[0]);
  const text = pdu.data_coding === 0x08 ? Buffer.from(body.slice(0, body.length & ~1)).swap16().toString('utf16le')
    : body.toString('latin1');
  return text.slice(0, 20).replace(/[^A-Za-z0-9 .,!?'()+-]/g, '?');
}

function sendReceipt(session, submit, messageId, submittedAt) {
  const stat = config.stat;
  const text = 'id:' + messageId + ' sub:001 dlvrd:' + (stat === 'DELIVRD' ? '001' : '000') +
    ' submit date:' + smppDate(submittedAt) + ' done date:' + smppDate(new Date()) +
    ' stat:' + stat + ' err:' + (stat === 'DELIVRD' ? '000' : '001') + ' text:' + snippet(submit);
  let target = session;
  if (!target.canReceive || target.destroyed) {
    target = Array.from(receivers).find((s) => s.systemId === session.systemId && !s.destroyed) || null;
  }
  if (!target) {
    emit('receipt_lost', {message_id: messageId, reason: 'no receiver bound'});
    return;
  }
  const fields = {
    source_addr_ton: submit.dest_addr_ton,
    source_addr_npi: submit.dest_addr_npi,
    source_addr: submit.destination_addr,
    dest_addr_ton: submit.source_addr_ton,
    dest_addr_npi: submit.source_addr_npi,
    destination_addr: submit.source_addr,
    esm_class: config.receiptEsmClass,
    data_coding: 0x00,
    short_message: Buffer.from(config.receiptFormat === 'tlv' ? '' : text, 'ascii'),
  };
  if (config.receiptFormat !== 'text') {
    fields.receipted_message_id = messageId;
    fields.message_state = MESSAGE_STATES[stat] || 7;
  }
  const pdu = new smpp.PDU('deliver_sm', fields);
  const sent = target.send(pdu, (resp) => {
    emit('deliver_sm_resp', {
      session: target.id, message_id: messageId, sequence_number: resp.sequence_number,
      command_status: resp.command_status,
    });
  });
  emit('receipt_sent', {
    session: target.id, message_id: messageId, sequence_number: pdu.sequence_number, stat: stat,
    message_state: MESSAGE_STATES[stat] || 7, short_message: text, written: sent,
  });
}

const server = smpp.createServer((session) => {
  session.id = nextSessionId++;
  session.bound = false;
  session.canReceive = false;
  session.submits = 0;
  session.destroyed = false;
  emit('connect', {session: session.id});

  function onBind(command, canReceive) {
    return (pdu) => {
      let status = 0;
      if (pdu.system_id !== config.systemId) status = smpp.ESME_RBINDFAIL;
      else if (pdu.password !== config.password) status = smpp.ESME_RINVPASWD;
      emit('bind', {session: session.id, command: command, system_id: pdu.system_id, command_status: status});
      if (status) {
        session.send(pdu.response({command_status: status}));
        session.close();
        return;
      }
      session.bound = true;
      session.canReceive = canReceive;
      session.canTransmit = command !== 'bind_receiver';
      session.systemId = pdu.system_id;
      if (canReceive) receivers.add(session);
      session.send(pdu.response({system_id: 'NODESMSC'}));
    };
  }
  session.on('bind_transceiver', onBind('bind_transceiver', true));
  session.on('bind_receiver', onBind('bind_receiver', true));
  session.on('bind_transmitter', onBind('bind_transmitter', false));

  session.on('submit_sm', (pdu) => {
    session.submits += 1;
    const info = concatInfo(pdu);
    const event = {
      session: session.id,
      sequence_number: pdu.sequence_number,
      source_addr: pdu.source_addr,
      destination_addr: pdu.destination_addr,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      short_message: hex(pdu.short_message),
      message_payload: hex(pdu.message_payload),
      udh: info.udh,
      sar: info.sar,
    };
    if (!session.bound || !session.canTransmit) {
      emit('submit', Object.assign(event, {command_status: smpp.ESME_RINVBNDSTS}));
      session.send(pdu.response({command_status: smpp.ESME_RINVBNDSTS}));
      return;
    }
    if (config.dropAfter && session.submits === config.dropAfter) {
      emit('submit', Object.assign(event, {command_status: null}));
      emit('drop', {session: session.id, after: session.submits});
      session.destroyed = true;
      receivers.delete(session);
      session.destroy();
      return;
    }
    submitsSeen += 1;
    if (config.throttleEvery && submitsSeen % config.throttleEvery === 0) {
      emit('submit', Object.assign(event, {command_status: smpp.ESME_RTHROTTLED}));
      session.send(pdu.response({command_status: smpp.ESME_RTHROTTLED}));
      return;
    }
    const messageId = String(nextMessageId++);
    emit('submit', Object.assign(event, {command_status: 0, message_id: messageId}));
    session.send(pdu.response({message_id: messageId}));
    if (pdu.registered_delivery & 0x01) {
      const submittedAt = new Date();
      finalStates.set(messageId, {
        state: MESSAGE_STATES[config.stat] || 7, error: config.stat === 'DELIVRD' ? 0 : 1, at: new Date(),
      });
      if (config.loseReceipts) {
        emit('receipt_withheld', {message_id: messageId});
      } else {
        setTimeout(() => sendReceipt(session, pdu, messageId, submittedAt), config.receiptDelayMs);
      }
    }
  });

  session.on('query_sm', (pdu) => {
    const known = finalStates.get(pdu.message_id);
    emit('query_sm', {session: session.id, message_id: pdu.message_id, source_addr: pdu.source_addr, known: !!known});
    if (!known) {
      session.send(pdu.response({command_status: 0x67}));  // ESME_RQUERYFAIL
      return;
    }
    session.send(pdu.response({
      message_id: pdu.message_id, final_date: known.at, message_state: known.state, error_code: known.error,
    }));
  });

  session.on('enquire_link', (pdu) => {
    emit('enquire_link', {session: session.id});
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    emit('unbind', {session: session.id});
    receivers.delete(session);
    session.send(pdu.response());
    session.close();
  });
  session.on('unknown', (pdu) => {
    emit('unknown', {session: session.id, command_id: pdu.command_id});
    session.send(pdu.response());
  });
  session.on('error', (err) => {
    emit('error', {session: session.id, message: String(err && err.message || err)});
  });
  session.on('close', () => {
    session.destroyed = true;
    receivers.delete(session);
    emit('close', {session: session.id});
  });
});

server.on('error', (err) => {
  emit('error', {message: String(err && err.message || err)});
  process.exit(1);
});

server.listen(config.port, config.host, () => {
  emit('listening', {port: server.address().port, host: config.host});
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
