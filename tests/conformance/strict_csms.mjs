// The conformance suite's backend: ocpp-rpc's RPCServer in strictMode, which checks every
// OCPP 1.6 message in both directions against the official JSON schemas (its
// lib/schemas/ocpp1_6.json, Security Whitepaper messages included) and reports each
// failure as a 'strictValidationFailure' event.
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
import ocppRpc from "ocpp-rpc"; // CommonJS: its exports come as one object
import { WebSocketServer } from "ws";

const { RPCServer, createRPCError, NOREPLY } = ocppRpc;

const CALL_TIMEOUT_MS = 15000;

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

    // {tls?: {cert, key, ca?}, require_client_cert?, passwords?: [hex] | null}: ws://, or wss:// with
    // tls (with ca, the client's certificate is asked for and checked against it).
    async op_listen({ tls, passwords, require_client_cert }) {
        this.passwords = passwords ?? null; // null: no HTTP Basic authentication asked for
        this.requireClientCert = Boolean(require_client_cert);
        const rpc = new RPCServer({
            protocols: ["ocpp1.6"],
            strictMode: true,
            callTimeoutMs: CALL_TIMEOUT_MS,
        });
        rpc.auth((accept, reject, handshake) => this.authenticate(accept, reject, handshake));
        rpc.on("client", (client) => this.attach(client));
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
        const info = { identity: handshake.identity, endpoint: handshake.endpoint, password, tls: tlsInfo };
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

    attach(client) {
        const connection = this.nextConnection++;
        this.clients.set(connection, client);
        this.emit({ event: "connected", connection, protocol: client.protocol, ...client.session.info });
        client.on("message", ({ message, outbound }) =>
            this.emit({ event: "frame", connection, direction: outbound ? "to_cp" : "from_cp", text: message }));
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
        for (const { server } of this.endpoints) {
            server.setSecureContext?.({ ...this.tlsOptions, cert, key });
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
