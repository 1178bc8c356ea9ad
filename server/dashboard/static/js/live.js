// The household's SSE stream read with fetch (EventSource cannot send Authorization), parsed as
// the HTML standard's event-stream format. After a drop it reconnects after the server's
// ``retry:`` (backing off while it keeps failing) and sends Last-Event-ID, so the server resends
// every event missed meanwhile. A stream silent for longer than two pings is treated as dropped.

const SILENT_MS = 35000;  // the server sends a comment every 15 s
const MAX_WAIT_MS = 30000;

export class LiveStream {
  /**
   * @param {string} url the stream's URL
   * @param {object} options headers; onEvent(type, data, id); onState(state, detail) with state
   *   "connecting" | "live" | "reconnecting" | "ended" | "error"
   */
  constructor(url, {headers = {}, onEvent = () => {}, onState = () => {}} = {}) {
    this.url = url;
    this.headers = headers;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = null;
    this.retryMs = 3000;
    this.stopped = true;
    this.connects = 0;
    this.controller = null;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async loop() {
    let failures = 0;
    while (!this.stopped) {
      this.onState(this.connects === 0 ? "connecting" : "reconnecting", {failures});
      const headers = {Accept: "text/event-stream", ...this.headers};
      if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
      this.controller = new AbortController();
      try {
        const response = await fetch(this.url, {headers, cache: "no-store", signal: this.controller.signal});
        if (!response.ok) {
          let data = null;
          try { data = await response.json(); } catch (err) { data = null; }
          if (response.status < 500 && response.status !== 429) {  // retrying cannot help
            this.onState("error", {status: response.status, data});
            return;
          }
          throw new Error(`HTTP ${response.status}`);
        }
        this.connects += 1;
        failures = 0;
        this.onState("live", {connects: this.connects});
        if (await this.read(response.body)) {
          this.onState("ended", {});
          return;
        }
      } catch (err) {
        if (this.stopped) return;
      }
      if (this.stopped) return;
      failures += 1;
      this.onState("reconnecting", {failures});
      const wait = Math.min(this.retryMs * 2 ** Math.max(0, failures - 1), MAX_WAIT_MS);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Read one connection until it closes; true when the server ended the stream on purpose. */
  async read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = {type: "", data: [], id: undefined};
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => this.controller.abort(), SILENT_MS);
    };
    arm();
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return false;
        arm();
        buffer += decoder.decode(value, {stream: true});
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop();
        for (const line of lines) {
          if (line === "") {
            if (event.id !== undefined) this.lastId = event.id;
            if (event.data.length) {
              const type = event.type || "message";
              let data = event.data.join("\n");
              try { data = JSON.parse(data); } catch (err) { /* keep the text */ }
              this.onEvent(type, data, event.id === undefined ? null : event.id);
              if (type === "end") return true;
            }
            event = {type: "", data: [], id: undefined};
            continue;
          }
          if (line.startsWith(":")) continue;  // a comment: the keep-alive ping
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") event.type = value;
          else if (field === "data") event.data.push(value);
          else if (field === "id" && !value.includes("\0")) event.id = value;
          else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(() => undefined);
    }
  }
}
