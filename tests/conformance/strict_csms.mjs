// The conformance suites' backend: ocpp-rpc's RPCServer in strictMode, which checks every
// message in both directions against the official JSON schemas of the subprotocol agreed on
// (its lib/schemas/ocpp1_6.json, Security Whitepaper messages included, and ocpp2_0_1.json, the
// OCPP 2.0.1 schemas) and reports each failure as a 'strictValidationFailure' event. On
// ocpp2.0.1 it also checks what the schemas cannot: the CALLERROR codes (OCPP-J 2.0.1 §4.3), the
// length of message ids (§4.1.4), and that every date-time carries its time zone (RFC 3339
// §5.6; ajv-formats 2.1.1, which ocpp-rpc uses, lets "2026-01-01T00:00:00" through) and at most
// 3 decimals of a second.
//
// The Python tests drive it over a control websocket on 127.0.0.1 (tests/conformance/strict_csms.py):
// the first stdout line is {"control_port": N}. Each control connection is one test: it asks
// for an OCPP endpoint ("listen"), answers every CALL the charge point makes ("reply"), makes
// the backend send requests ("call"), and can drop or refuse connections. Everything the
// backend sees comes back as events: connections (with the HTTP Basic password and the TLS
// details), CALLs, every frame, and every schema violation. The process exits when its
// stdin closes (the test run that started it has gone).
//
//   node strict_csms.mjs

import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import ocppRpc from "ocpp-rpc"; // CommonJS: its exports come as one object
import { WebSocketServer } from "ws";

const { RPCServer, createRPCError, NOREPLY } = ocppRpc;
const require = createRequire(import.meta.url);
// The official OCPP 2.0.1 schemas as ocpp-rpc ships them, by id ("urn:BootNotification.req").
const SCHEMAS_201 = new Map(require("ocpp-rpc/lib/schemas/ocpp2_0_1.json").map((schema) => [schema.$id, schema]));

const CALL_TIMEOUT_MS = 15000;
const SUBPROTOCOLS = ["ocpp1.6", "ocpp2.0.1"];

// OCPP-J 2.0.1 (OCPP 2.0.1 Part 4) §4.3 ErrorCode: the only codes a CALLERROR may carry.
const ERROR_CODES_201 = new Set([
    "FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
    "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
    "RpcFrameworkError", "SecurityError", "TypeConstraintViolation",
]);
const MESSAGE_ID_MAX_201 = 36; // OCPP-J 2.0.1 §4.1.4: a message id is at most 36 characters

// OCPP 2.0.1 Part 2, primitive datatypes, dateTime: RFC 3339 §5.6 (the time zone, Z or ±hh:mm, is
// not optional), and "the number of decimal places SHALL NOT exceed the maximum of 3".
const RFC3339_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,3})?([Zz]|[+-]\d{2}:\d{2})$/;

// Every [path, value] of ``data`` where ``schema`` (of ``root``) says format date-time.
function dateTimes(schema, root, data, path = "", out = []) {
    if (schema.$ref) {
        schema = schema.$ref.replace(/^#\//, "").split("/").reduce((node, key) => node[key], root);
    }
    if (schema.format === "date-time" && typeof data === "string") {
        out.push([path, data]);
    } else if (data && typeof data === "object" && !Array.isArray(data) && schema.properties) {
        for (const [key, sub] of Object.entries(schema.properties)) {
            if (key in data) dateTimes(sub, root, data[key], `${path}/${key}`, out);
        }
    } else if (Array.isArray(data) && schema.items) {
        data.forEach((item, i) => dateTimes(schema.items, root, item, `${path}/${i}`, out));
    }
    return out;
}

// A date-time without its time zone in the payload of ``method`` (``.req`` or ``.conf``): a reason, or null.
function dateTimeRule201(method, kind, payload) {
    const schema = SCHEMAS_201.get(`urn:${method}.${kind}`);
    if (!schema || payload === null || typeof payload !== "object") {
        return null;
    }
    const bad = dateTimes(schema, schema, payload).find(([, value]) => !RFC3339_DATE_TIME.test(value));
    return bad ? `${method} ${kind === "req" ? "request" : "response"}: ${bad[0]} ${JSON.stringify(bad[1])} `
        + "is not an RFC 3339 date-time with a time zone and at most 3 decimals (OCPP 2.0.1 Part 2, dateTime)" : null;
}

// What the schemas cannot check in a frame the charging station sent on ocpp2.0.1: a reason, or null.
function frameRule201(text) {
    let frame;
    try {
        frame = JSON.parse(text);
    } catch {
        return null; // not JSON: ocpp-rpc reports it as a bad message
    }
    if (!Array.isArray(frame) || typeof frame[1] !== "string") {
        return null;
    }
    const [type, messageId, code, description, details] = frame;
    if (messageId.length > MESSAGE_ID_MAX_201) {
        return `message id of ${messageId.length} characters, more than ${MESSAGE_ID_MAX_201} (OCPP-J 2.0.1 §4.1.4)`;
    }
    if (type === 4) {
        if (!ERROR_CODES_201.has(code)) {
            return `CALLERROR code ${JSON.stringify(code)} is not an OCPP-J 2.0.1 error code (§4.3)`;
        }
        if (typeof description !== "string") {
            return "CALLERROR errorDescription is not a string (OCPP-J 2.0.1 §4.2.3)";
        }
        if (details === null || typeof details !== "object" || Array.isArray(details)) {
            return "CALLERROR errorDetails is not a JSON object (OCPP-J 2.0.1 §4.2.3)";
        }
    }
    return null;
}

function errorInfo(err) {
    return {
        code: err?.rpcErrorCode ?? err?.name ?? "Error",
        description: err?.message ?? String(err),
        details: err?.details ?? {},
    };
}

class Session {
    constructor(control) {
        this.control = control;
        this.endpoints = [];
        this.clients = new Map(); // connection number -> RPCServerClient
        this.nextConnection = 1;
        this.pendingCalls = new Map(); // "<connection>/<messageId>" -> {resolve}
        this.refuse = false;
        control.on("message", (data) => this.command(JSON.parse(data.toString("utf8"))));
        control.on("close", () => this.shutdown());
    }

    emit(event) {
        if (this.control.readyState === this.control.OPEN) {
            this.control.send(JSON.stringify(event));
        }
    }

    async command(cmd) {
        try {
            const result = await this[`op_${cmd.op}`](cmd);
            this.emit({ re: cmd.id, ok: true, ...(result ?? {}) });
        } catch (err) {
            this.emit({ re: cmd.id, ok: false, error: errorInfo(err) });
        }
    }

    // ---- the OCPP endpoint ---------------------------------------------------------------

    // {protocols?, tls?: {cert, key, ca?}, require_client_cert?, passwords?: [hex] | null}: ws://, or
    // wss:// with tls (with ca, the client's certificate is asked for and checked against it).
    // protocols: the subprotocols this endpoint speaks, in the backend's order of preference
    // (default ["ocpp1.6"]); strictMode validates every one of them.
    async op_listen({ protocols, tls, passwords, require_client_cert }) {
        protocols = protocols ?? ["ocpp1.6"];
        const unknown = protocols.filter((p) => !SUBPROTOCOLS.includes(p));
        if (!protocols.length || unknown.length) {
            throw new Error(`protocols must be some of ${SUBPROTOCOLS.join(", ")}, not ${JSON.stringify(protocols)}`);
        }
        this.passwords = passwords ?? null; // null: no HTTP Basic authentication asked for
        this.requireClientCert = Boolean(require_client_cert);
        const rpc = new RPCServer({
            protocols,
            strictMode: true,
            callTimeoutMs: CALL_TIMEOUT_MS,
        });
        rpc.auth((accept, reject, handshake) => this.authenticate(accept, reject, handshake));
        rpc.on("client", (client) => this.attach(client, protocols));
        rpc.on("upgradeAborted", ({ error, identity }) =>
            this.emit({ event: "refused", identity, code: error?.code ?? null, reason: error?.message ?? "" }));

        let server;
        if (tls) {
            this.tlsOptions = {
                cert: tls.cert,
                key: tls.key,
                ca: tls.ca,
                requestCert: Boolean(tls.ca),
                rejectUnauthorized: false, // judged in authenticate(), so a refusal can be reported
                minVersion: "TLSv1.2",
            };
            server = https.createServer(this.tlsOptions);
            server.on("tlsClientError", (err) => this.emit({ event: "tls_error", reason: err.message }));
        } else {
            server = http.createServer();
        }
        server.on("request", (req, res) => res.writeHead(404).end());
        server.on("upgrade", rpc.handleUpgrade);
        await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
        this.endpoints.push({ rpc, server });
        return { port: server.address().port };
    }

    authenticate(accept, reject, handshake) {
        const socket = handshake.request.socket;
        const tlsInfo = socket.encrypted
            ? {
                  version: socket.getProtocol(),
                  client_cert: socket.getPeerCertificate()?.subject?.CN ?? null,
                  client_cert_serial: socket.getPeerCertificate()?.serialNumber ?? null,
                  client_cert_authorized: socket.authorized,
              }
            : null;
        const password = handshake.password ? handshake.password.toString("hex") : null;
        const info = {
            identity: handshake.identity,
            endpoint: handshake.endpoint,
            password,
            tls: tlsInfo,
            offered: [...handshake.protocols], // the station's subprotocols, in its order
        };
        if (this.refuse) {
            this.emit({ event: "refused", ...info, code: 503, reason: "offline" });
            return reject(503, "Service Unavailable");
        }
        if (this.passwords !== null && !this.passwords.includes(password)) {
            this.emit({ event: "refused", ...info, code: 401, reason: "wrong password" });
            return reject(401, "Unauthorized");
        }
        if (tlsInfo && this.requireClientCert && !tlsInfo.client_cert_authorized) {
            this.emit({ event: "refused", ...info, code: 401, reason: "no valid client certificate" });
            return reject(401, "Unauthorized");
        }
        accept({ info });
    }

    attach(client, protocols) {
        if (!protocols.includes(client.protocol)) {
            // OCPP-J §3.1.2 (1.6) / Part 4 §3.2 (2.0.1): the handshake completes without a
            // subprotocol and the backend closes the connection at once. Unvalidated, so no OCPP.
            this.emit({ event: "refused", ...client.session.info, code: null, reason: "no common subprotocol" });
            client.close({ code: 1002, reason: "no common subprotocol" });
            return;
        }
        const connection = this.nextConnection++;
        this.clients.set(connection, client);
        this.emit({ event: "connected", connection, protocol: client.protocol, ...client.session.info });
        const methods = new Map(); // message id -> the action of the CALL, both directions (for CALLRESULTs)
        client.on("message", ({ message, outbound }) => {
            const text = message.toString();
            this.emit({ event: "frame", connection, direction: outbound ? "to_cp" : "from_cp", text });
            if (client.protocol !== "ocpp2.0.1") {
                return;
            }
            const by = outbound ? "backend" : "charge_point";
            const broken = outbound ? null : frameRule201(text);
            if (broken) {
                this.emit({ event: "violation", connection, by, message: "frame", text, error: broken });
                return;
            }
            let frame;
            try {
                frame = JSON.parse(text);
            } catch {
                return;
            }
            if (!Array.isArray(frame)) return;
            let late = null;
            if (frame[0] === 2) {
                methods.set(`${outbound}/${frame[1]}`, frame[2]);
                late = dateTimeRule201(frame[2], "req", frame[3]);
            } else if (frame[0] === 3 || frame[0] === 4) {
                const key = `${!outbound}/${frame[1]}`; // the CALL went the other way
                const method = methods.get(key);
                methods.delete(key);
                late = frame[0] === 3 && method ? dateTimeRule201(method, "conf", frame[2]) : null;
            }
            if (late) {
                this.emit({ event: "violation", connection, by, message: "date-time", text, error: late });
            }
        });
        client.on("strictValidationFailure", (failure) =>
            this.emit({
                event: "violation",
                connection,
                // outbound: the backend's own message (a test that built a bad one); inbound: the charge point's
                by: failure.outbound ? "backend" : "charge_point",
                method: failure.method,
                message: failure.isCall ? "CALL" : "CALLRESULT",
                params: failure.params,
                result: failure.result,
                error: failure.error?.message ?? String(failure.error),
                details: failure.error?.details ?? null,
            }));
        client.on("badMessage", ({ buffer, error }) =>
            this.emit({ event: "violation", connection, by: "charge_point", message: "frame",
                        text: buffer.toString("utf8"), error: error?.message ?? String(error) }));
        client.on("close", ({ code, reason }) => {
            this.clients.delete(connection);
            this.emit({ event: "disconnected", connection, code, reason: String(reason ?? "") });
        });
        // Every CALL from the charge point goes to the test, whose answer is the reply.
        client.handle(({ method, params, messageId }) =>
            new Promise((resolve) => {
                this.pendingCalls.set(`${connection}/${messageId}`, resolve);
                this.emit({ event: "call", connection, unique_id: messageId, action: method, params });
            }));
    }

    // {connection, unique_id, result} | {…, error: {code, description, details}} | {…, hold: true}
    op_reply({ connection, unique_id, result, error, hold }) {
        const key = `${connection}/${unique_id}`;
        const resolve = this.pendingCalls.get(key);
        if (!resolve) {
            throw new Error(`no CALL ${key} waits for an answer`);
        }
        this.pendingCalls.delete(key);
        if (hold) {
            resolve(NOREPLY);
        } else if (error) {
            resolve(createRPCError(error.code, error.description ?? "", error.details ?? {}));
        } else {
            resolve(result);
        }
    }

    latest() {
        const client = [...this.clients.values()].at(-1);
        if (!client) {
            throw new Error("no charge point is connected");
        }
        return client;
    }

    // {action, params, timeout_ms?} -> {result}; a CALLERROR becomes an error {code, description, details}
    async op_call({ action, params, timeout_ms }) {
        const result = await this.latest().call(action, params, { callTimeoutMs: timeout_ms ?? CALL_TIMEOUT_MS });
        return { result };
    }

    // A frame the schemas would never let through (tests of the charge point's CALLERRORs).
    op_raw({ text }) {
        this.latest().sendRaw(text);
    }

    async op_close({ code }) {
        const client = this.latest();
        await client.close({ code: code ?? 1001, force: code === undefined });
    }

    op_refuse({ value }) {
        this.refuse = Boolean(value);
    }

    op_passwords({ passwords }) {
        this.passwords = passwords ?? null;
    }

    op_require_client_cert({ value }) {
        this.requireClientCert = Boolean(value);
    }

    // {cert, key}: the certificate the TLS side presents from the next handshake on.
    op_server_cert({ cert, key }) {
        this.tlsOptions = { ...this.tlsOptions, cert, key };
        for (const { server } of this.endpoints) {
            server.setSecureContext?.(this.tlsOptions);
        }
    }

    // {min, max}: the TLS versions the TLS side speaks from the next handshake on ("TLSv1" to
    // "TLSv1.3"); below 1.2 only with OpenSSL's security level 0, where such suites still exist.
    op_tls_versions({ min, max }) {
        const { ciphers, ...options } = this.tlsOptions;
        this.tlsOptions = { ...options, minVersion: min, maxVersion: max };
        if (min === "TLSv1" || min === "TLSv1.1") {
            this.tlsOptions.ciphers = "DEFAULT@SECLEVEL=0";
        }
        for (const { server } of this.endpoints) {
            server.setSecureContext?.(this.tlsOptions);
        }
    }

    async shutdown() {
        for (const resolve of this.pendingCalls.values()) {
            resolve(NOREPLY);
        }
        this.pendingCalls.clear();
        for (const { rpc, server } of this.endpoints) {
            await rpc.close({ force: true }).catch(() => {});
            server.close();
        }
        this.endpoints = [];
    }
}

const control = new WebSocketServer({ host: "127.0.0.1", port: 0 });
control.on("listening", () => process.stdout.write(JSON.stringify({ control_port: control.address().port }) + "\n"));
control.on("connection", (ws) => new Session(ws));
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
