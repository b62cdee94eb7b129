// Chorus console: sign in, chat with the console graph or run a workflow, watch the run
// stream (tokens and each step), answer approval interrupts, open past threads.
// Talks to /api/auth and the LangGraph-compatible runs API under /lg. No framework.

const TOKEN_KEY = "chorus.console.accessToken";
const USER_KEY = "chorus.console.user";
const STREAM_MODE = ["messages-tuple", "updates", "values"];
const FORMS = { console: "chat-form", content_creation: "content-form" };

const $ = (id) => document.getElementById(id);

const state = {
  accessToken: sessionStorage.getItem(TOKEN_KEY),
  refreshToken: null, // memory only
  user: JSON.parse(sessionStorage.getItem(USER_KEY) || "null"),
  assistants: [],
  graph: "console",
  threadId: null,
  running: false,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body?.error?.message || body?.detail || message;
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, message);
}

async function refreshSession() {
  if (!state.refreshToken) return false;
  const response = await fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refreshToken: state.refreshToken }),
  });
  if (!response.ok) return false;
  const tokens = await response.json();
  setTokens(tokens.accessToken, tokens.refreshToken);
  return true;
}

/** fetch() with the bearer token; one refresh-and-retry on a 401. Answers the Response. */
async function send(path, { method = "GET", body, signal } = {}, retried = false) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.accessToken) headers.Authorization = `Bearer ${state.accessToken}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (response.status === 401 && !retried && (await refreshSession())) {
    return send(path, { method, body, signal }, true);
  }
  if (response.status === 401) {
    signOut("Your session has ended; please sign in again.");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function api(path, options) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

/** Server-sent events from a fetch() Response: yields {event, data}. */
async function* readSse(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed) yield parsed;
    }
    if (done) {
      const parsed = parseBlock(buffer);
      if (parsed) yield parsed;
      return;
    }
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}

// ---------------------------------------------------------------- rendering helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function announce(text) {
  $("status").textContent = text;
}

function scrollLog() {
  const log = $("log");
  log.scrollTop = log.scrollHeight;
}

function textOf(message) {
  const content = message?.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : part?.text || "")).join("");
  }
  return "";
}

function isAi(message) {
  return message?.type === "ai" || message?.type === "AIMessageChunk" || message?.role === "assistant";
}

/** Escapes what the model wrote as HTML: Markdown is rendered, raw HTML is shown as text. */
function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** An answer's Markdown (headings, lists, tables, code) as HTML in ``target``: marked renders
 * it with raw HTML escaped, and DOMPurify removes anything unsafe a link or image could carry.
 * Without the two vendored scripts, the text as it is. */
function renderMarkdown(target, text) {
  const { marked, DOMPurify } = window;
  if (!marked || !DOMPurify || !text) {
    target.textContent = text || "";
    return;
  }
  if (!renderMarkdown.configured) {
    marked.use({ renderer: { html: (token) => escapeHtml(token.text) } });
    renderMarkdown.configured = true;
  }
  target.innerHTML = DOMPurify.sanitize(marked.parse(text, { async: false }));
  target.classList.add("markdown");
}

function bubble(role, text, { label } = {}) {
  const who = role === "user" ? "You" : label || "Chorus";
  const body = el("div", { class: "text", text: text || "" });
  // The person's own words stay plain text; an answer is rendered.
  if (role === "assistant" && text) renderMarkdown(body, text);
  const node = el(
    "article",
    { class: `bubble ${role}`, "aria-label": `${who} said` },
    el("span", { class: "who", text: who }),
    body,
  );
  $("log").append(node);
  scrollLog();
  return node;
}

function note(text, kind = "note") {
  const node = el("p", { class: `note ${kind}`, text });
  $("log").append(node);
  scrollLog();
  return node;
}

function clearRun() {
  $("steps").replaceChildren();
  $("approval").hidden = true;
  $("feedback").value = "";
}

function addStep(name, status = "done") {
  const chip = el("li", { class: `step ${status}`, "data-node": name, text: name });
  $("steps").append(chip);
  return chip;
}

function percent(rate) {
  return typeof rate === "number" ? `${(rate * 100).toFixed(2)}%` : "";
}

/** A slot on the clock it was picked for: ``timeZone`` is the organization's IANA zone (the
 * interrupt says which), not the reader's; an unknown zone falls back to the reader's. */
function formatSlot(slot, timeZone) {
  const when = new Date(slot.at);
  const options = {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  };
  let label = String(slot.at);
  if (!Number.isNaN(when.getTime())) {
    try {
      label = when.toLocaleString(undefined, timeZone ? { ...options, timeZone } : options);
    } catch {
      label = when.toLocaleString(undefined, options);
    }
  }
  const expected = slot.expectedEngagement != null ? ` — ${percent(slot.expectedEngagement)} expected` : "";
  return `${label}${expected}`;
}

// ---------------------------------------------------------------- approval interrupts

function pendingInterrupt(threadState) {
  const direct = threadState?.interrupts || [];
  if (direct.length) return direct[0];
  for (const task of threadState?.tasks || []) {
    if (task.interrupts?.length) return task.interrupts[0];
  }
  return null;
}

function showApproval(interrupt) {
  const value = interrupt?.value ?? {};
  const actions = Array.isArray(value.actions) ? value.actions : ["approve", "revise", "reject"];
  $("approval-question").textContent = value.question || "This run is waiting for your decision.";
  const body = $("approval-body");
  body.replaceChildren();
  const editable = Array.isArray(value.approveWith) ? value.approveWith : [];
  state.approvalDraft = value.draft?.text ?? null;
  // Why the last approval could not be applied (a rule the edited text broke, say).
  if (value.problem) body.append(el("p", { class: "error", role: "alert", text: value.problem }));

  if (value.draft) {
    const draft = value.draft;
    body.append(el("h4", { text: "Draft" }), el("p", { class: "draft-text", id: "draft-text", text: draft.text || "" }));
    if (editable.includes("text")) {
      body.append(
        el("details", {},
          el("summary", { text: "Edit the text before approving" }),
          el("textarea", { id: "draft-edit", rows: 5, class: "draft-text", value: draft.text || "",
                           "aria-label": "Edited post text" })),
      );
    }
    const tags = draft.hashtags || [];
    body.append(
      el("h4", { text: "Hashtags" }),
      tags.length
        ? el("ul", { class: "tags", id: "draft-hashtags" }, tags.map((t) => el("li", { text: t })))
        : el("p", { class: "muted", id: "draft-hashtags", text: "No hashtags." }),
    );
    if (draft.predictedEngagement) {
      const p = draft.predictedEngagement;
      body.append(
        el("p", {
          class: "muted",
          text: `Predicted engagement ${percent(p.rate)} (${percent(p.low)}–${percent(p.high)}).`,
        }),
      );
    }
  }
  if (Array.isArray(value.slots)) {
    body.append(
      el("h4", { text: "Proposed slots" }),
      el("ol", { class: "slots", id: "slots" }, value.slots.map((s, i) => {
        const label = formatSlot(s, value.timezone);
        if (!editable.includes("slot")) return el("li", { text: label });
        // Approve at another proposed slot: the first is the default.
        const pick = el("input", { type: "radio", name: "slot", value: String(i), checked: i === 0,
                                   "aria-label": label });
        return el("li", {}, el("label", {}, pick, " ", label));
      })),
    );
  }
  if (value.riskLevel) body.append(el("p", { text: `Risk level: ${value.riskLevel}` }));
  if (value.responsePlan) {
    body.append(el("details", {}, el("summary", { text: "Response plan" }),
      el("pre", { class: "mono", text: JSON.stringify(value.responsePlan, null, 2) })));
  }
  if (!value.draft && !value.slots && !value.responsePlan) {
    const rest = { ...value };
    delete rest.question;
    delete rest.actions;
    delete rest.kind;
    if (Object.keys(rest).length) body.append(el("pre", { class: "mono", text: JSON.stringify(rest, null, 2) }));
  }

  for (const button of $("approval").querySelectorAll("button[data-action]")) {
    button.hidden = !actions.includes(button.dataset.action);
    button.disabled = false;
  }
  $("feedback-group").hidden = !actions.includes("revise");
  $("approval").hidden = false;
  setFormsDisabled(true);
  announce("The run is waiting for your approval.");
  $("approval").querySelector("button[data-action]:not([hidden])")?.focus();
}

async function decide(action) {
  const resume = { action };
  if (action === "revise") {
    const feedback = $("feedback").value.trim();
    if (!feedback) {
      announce("Write what should change, then press Revise.");
      $("feedback").focus();
      return;
    }
    resume.feedback = feedback;
  }
  if (action === "approve") {
    const picked = document.querySelector('input[name="slot"]:checked');
    if (picked && picked.value !== "0") resume.slot = Number(picked.value);
    const edited = $("draft-edit")?.value.trim();
    if (edited && edited !== (state.approvalDraft || "").trim()) resume.text = edited;
  }
  for (const button of $("approval").querySelectorAll("button")) button.disabled = true;
  $("approval").hidden = true;
  $("feedback").value = "";
  note(action === "revise" ? `You asked for a revision: ${resume.feedback}` : `You chose: ${action}.`, "decision");
  await run({ command: { resume } });
}

// ---------------------------------------------------------------- runs

/** The run forms are off while a run streams or an approval waits; the mode picker and
 * "New thread" only while a run streams (a waiting thread can be left and reopened). */
function setFormsDisabled(disabled) {
  for (const id of ["chat-form", "content-form", "json-form"]) {
    for (const control of $(id).elements) control.disabled = disabled;
  }
  $("mode").disabled = state.running;
  $("new-thread").disabled = state.running;
}

async function ensureThread() {
  if (state.threadId) return state.threadId;
  const thread = await api("/lg/threads", { method: "POST", body: { metadata: { source: "console" } } });
  state.threadId = thread.thread_id;
  showThreadLabel();
  return state.threadId;
}

function showThreadLabel() {
  $("thread-label").textContent = state.threadId ? `Thread ${state.threadId.slice(0, 8)}` : "New thread";
}

/** Stream one run on the current thread: input or a resume command. */
async function run(payload) {
  if (state.running) return;
  state.running = true;
  setFormsDisabled(true);
  $("steps").replaceChildren();
  const graph = state.graph;
  let current = null; // the assistant bubble being streamed
  let streamedId = null;
  let lastValues = null;
  let failed = false;
  const seenSteps = new Set();

  const ensureBubble = () => {
    if (!current) {
      current = bubble("assistant", "");
      current.classList.add("streaming");
      current.setAttribute("aria-busy", "true");
    }
    return current.querySelector(".text");
  };

  try {
    const threadId = await ensureThread();
    announce("Running…");
    const response = await send(`/lg/threads/${threadId}/runs/stream`, {
      method: "POST",
      body: { assistant_id: graph, stream_mode: STREAM_MODE, ...payload },
    });
    for await (const { event, data } of readSse(response)) {
      if (event === "messages") {
        const [message, meta] = Array.isArray(data) ? data : [data, {}];
        if (!isAi(message)) continue;
        const text = textOf(message);
        if (message.type === "AIMessageChunk") {
          if (!text) continue;
          const target = ensureBubble();
          if (message.id !== streamedId) {
            // A new model call: its tokens replace what the last one streamed.
            streamedId = message.id;
            target.textContent = "";
            const node = meta?.langgraph_node;
            current.querySelector(".who").textContent = node && graph !== "console" ? `Chorus · ${node}` : "Chorus";
          }
          target.textContent += text;
          scrollLog();
        } else if (text) {
          // A whole message a node returned: the answer as it is stored.
          const target = ensureBubble();
          target.textContent = text;
          streamedId = message.id;
          if (message.name) current.querySelector(".who").textContent = `Chorus · ${message.name}`;
          scrollLog();
        }
      } else if (event === "updates") {
        for (const [node, update] of Object.entries(data || {})) {
          if (node === "__interrupt__") {
            addStep("approval: waiting", "waiting");
            continue;
          }
          if (node.startsWith("__")) continue;
          const label = seenSteps.has(node) ? `${node} (again)` : node;
          seenSteps.add(node);
          addStep(label);
          announce(`Step done: ${node}`);
          if (node === "route" && update?.route) addStep(`→ ${update.route}`, "info");
        }
      } else if (event === "values") {
        lastValues = data;
      } else if (event === "error") {
        failed = true;
        note(`The run failed: ${data?.message || data?.error || "unknown error"}`, "error");
        announce("The run failed.");
      }
    }
    await finishRun(current, lastValues, failed);
  } catch (error) {
    note(error.message || String(error), "error");
    announce(`Error: ${error.message || error}`);
    if (current) current.remove();
  } finally {
    if (current) {
      current.classList.remove("streaming");
      current.removeAttribute("aria-busy");
    }
    state.running = false;
    setFormsDisabled(!$("approval").hidden);
    if ($("approval").hidden) focusComposer();
    loadThreads();
  }
}

async function finishRun(current, values, failed) {
  const threadState = await api(`/lg/threads/${state.threadId}/state`);
  values = threadState?.values || values || {};
  if (Array.isArray(values.messages)) {
    // Render the final assistant message as stored.
    const last = [...values.messages].reverse().find(isAi);
    if (last) {
      const target = current?.querySelector(".text") || bubble("assistant", "").querySelector(".text");
      renderMarkdown(target, textOf(last));
      if (last.name && current) current.querySelector(".who").textContent = `Chorus · ${last.name}`;
    }
  } else if (current) {
    // A workflow: its model output was progress, the result is in the state.
    current.remove();
  }
  const interrupt = pendingInterrupt(threadState);
  if (interrupt) {
    showApproval(interrupt);
    return;
  }
  if (failed) return;
  renderOutcome(values);
  announce("Run finished.");
}

function renderOutcome(values) {
  if (values.postId) {
    const box = el(
      "div",
      { class: "outcome", role: "group", "aria-label": "Stored post" },
      el("strong", { text: values.status === "scheduled" ? "Scheduled. " : "Stored. " }),
      "Post id ",
      el("code", { id: "post-id", text: values.postId }),
    );
    $("log").append(box);
    scrollLog();
  } else if (values.status === "rejected") {
    note("Rejected: nothing was stored.", "decision");
  } else if (!Array.isArray(values.messages) && Object.keys(values).length) {
    const result = values.output ?? values;
    $("log").append(
      el("details", { class: "outcome", open: true },
        el("summary", { text: "Result" }),
        el("pre", { class: "mono", text: JSON.stringify(result, null, 2) })),
    );
    scrollLog();
  }
}

// ---------------------------------------------------------------- threads

async function loadThreads() {
  try {
    const threads = await api("/lg/threads/search", { method: "POST", body: { limit: 30 } });
    const list = $("threads");
    list.replaceChildren(
      ...threads.map((t) => {
        const graph = t.metadata?.graph_id || "new";
        const when = t.updated_at ? new Date(t.updated_at).toLocaleString() : "";
        const current = t.thread_id === state.threadId;
        return el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: `thread${current ? " current" : ""}`,
              "data-thread-id": t.thread_id,
              "aria-current": current ? "true" : null,
              onclick: () => openThread(t.thread_id, t.metadata?.graph_id),
            },
            el("span", { class: "thread-graph", text: graph.replaceAll("_", " "), title: graph }),
            el("span", { class: `badge ${t.status}`, text: t.status }),
            el("span", { class: "thread-meta", text: `${t.thread_id.slice(0, 8)} · ${when}` }),
          ),
        );
      }),
    );
    $("threads-empty").hidden = threads.length > 0;
  } catch (error) {
    if (state.accessToken) announce(`Could not load threads: ${error.message}`);
  }
}

async function openThread(threadId, graph) {
  if (state.running) return;
  clearRun();
  $("log").replaceChildren();
  state.threadId = threadId;
  if (graph) selectMode(graph, { keepThread: true });
  showThreadLabel();
  announce("Loading thread…");
  try {
    const threadState = await api(`/lg/threads/${threadId}/state`);
    const values = threadState.values || {};
    if (Array.isArray(values.messages)) {
      for (const m of values.messages) {
        const text = textOf(m);
        if (!text) continue;
        bubble(isAi(m) ? "assistant" : "user", text, { label: m.name ? `Chorus · ${m.name}` : undefined });
      }
    } else if (values.brief) {
      bubble("user", `${values.brief} (${values.platform || ""})`);
    }
    const interrupt = pendingInterrupt(threadState);
    if (interrupt) showApproval(interrupt);
    else {
      setFormsDisabled(false);
      if (!Array.isArray(values.messages)) renderOutcome(values);
    }
    if (!Object.keys(values).length) note("This thread has no runs yet.");
    announce(`Opened thread ${threadId.slice(0, 8)}.`);
    loadThreads();
  } catch (error) {
    note(`Could not open the thread: ${error.message}`, "error");
  }
}

// ---------------------------------------------------------------- modes

function selectMode(graph, { keepThread = false } = {}) {
  state.graph = graph;
  $("mode").value = graph;
  const info = state.assistants.find((a) => a.graph_id === graph);
  $("mode-description").textContent = info?.description || "";
  const formId = FORMS[graph] || "json-form";
  for (const id of ["chat-form", "content-form", "json-form"]) $(id).hidden = id !== formId;
  // The sign-in cookie (openPlaygroundSession) lets the playground open in a new tab.
  $("playground-link").href = `/graphs/${encodeURIComponent(graph)}/playground/`;
  if (formId === "json-form") prefillExample(graph);
  if (!keepThread) newThread();
}

/** A valid input for the graph (the example its schemas publish), ready to edit and run. */
async function prefillExample(graph) {
  try {
    const schemas = await api(`/lg/assistants/${encodeURIComponent(graph)}/schemas`);
    const example = schemas?.input_schema?.examples?.[0];
    if (example && state.graph === graph) {
      $("json-input").value = JSON.stringify(example, null, 2);
    }
  } catch {
    /* keep what the box holds: the run explains a bad input itself */
  }
}

function newThread() {
  state.threadId = null;
  clearRun();
  $("log").replaceChildren();
  setFormsDisabled(false);
  showThreadLabel();
  loadThreads();
}

function focusComposer() {
  const formId = FORMS[state.graph] || "json-form";
  const first = $(formId).querySelector("textarea, input, select");
  first?.focus();
}

async function loadAssistants() {
  const assistants = await api("/lg/assistants/search", { method: "POST", body: { limit: 100 } });
  // The console and the multi-step workflows first; single agents after.
  const order = ["console", "content_creation", "crisis_response", "trend_analysis",
    "performance_analysis", "competitor_analysis"];
  assistants.sort((a, b) => {
    const ia = order.indexOf(a.graph_id), ib = order.indexOf(b.graph_id);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.graph_id.localeCompare(b.graph_id);
  });
  state.assistants = assistants;
  $("mode").replaceChildren(
    ...assistants.map((a) =>
      el("option", { value: a.graph_id, text: a.graph_id === "console" ? "Console chat" : a.graph_id.replaceAll("_", " ") }),
    ),
  );
}

// ---------------------------------------------------------------- session

function setTokens(accessToken, refreshToken) {
  state.accessToken = accessToken;
  if (refreshToken) state.refreshToken = refreshToken;
  sessionStorage.setItem(TOKEN_KEY, accessToken);
  openPlaygroundSession(accessToken);
}

/** The playground cookie (HttpOnly, sent only to /graphs, renewed with each token): lets the
 * LangServe playground (/graphs/NAME/playground/) open in this browser. */
function openPlaygroundSession(accessToken) {
  fetch("/api/auth/playground-session", {
    method: "POST",
    headers: { Authorization: `Bearer ${accessToken}` },
  }).catch(() => {});
}

function signOut(message) {
  const token = state.accessToken;
  if (token && !message) {
    fetch("/api/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(state.refreshToken ? { refreshToken: state.refreshToken } : {}),
    }).catch(() => {});
  }
  state.accessToken = null;
  state.refreshToken = null;
  state.user = null;
  state.threadId = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  $("app").hidden = true;
  $("account").hidden = true;
  $("signin").hidden = false;
  $("log").replaceChildren();
  if (message) showSigninError(message);
  $("email").focus();
}

function showSigninError(message) {
  const box = $("signin-error");
  box.textContent = message;
  box.hidden = !message;
}

async function enterConsole() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("account").hidden = false;
  $("who").textContent = state.user?.email || "";
  try {
    await loadAssistants();
  } catch (error) {
    if (!state.accessToken) return; // signed out by a 401
    announce(`Could not load the assistants: ${error.message}`);
  }
  selectMode("console");
  focusComposer();
}

async function signIn(event) {
  event.preventDefault();
  showSigninError("");
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email || !password) {
    showSigninError("Enter your email and password.");
    return;
  }
  const button = event.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (!response.ok) throw await errorOf(response);
    const body = await response.json();
    setTokens(body.accessToken, body.refreshToken);
    state.user = body.user;
    sessionStorage.setItem(USER_KEY, JSON.stringify({ email: body.user?.email }));
    $("password").value = "";
    await enterConsole();
  } catch (error) {
    showSigninError(error.message || "Sign-in failed.");
    $("password").focus();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh-threads").addEventListener("click", loadThreads);
  $("new-thread").addEventListener("click", () => {
    newThread();
    focusComposer();
  });
  $("mode").addEventListener("change", (e) => selectMode(e.target.value));

  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text) return;
    $("chat-input").value = "";
    bubble("user", text);
    run({ input: { messages: [{ role: "user", content: text }] } });
  });
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("chat-form").requestSubmit();
    }
  });

  $("content-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const brief = $("brief").value.trim();
    if (!brief) {
      announce("Write a brief first.");
      $("brief").focus();
      return;
    }
    const platform = $("platform").value;
    newThread();
    bubble("user", `${brief} (${platform})`);
    run({ input: { brief, platform } });
  });

  $("json-form").addEventListener("submit", (e) => {
    e.preventDefault();
    let input;
    try {
      input = JSON.parse($("json-input").value);
    } catch (error) {
      announce(`The input is not valid JSON: ${error.message}`);
      $("json-input").focus();
      return;
    }
    newThread();
    bubble("user", JSON.stringify(input));
    run({ input });
  });

  for (const button of $("approval").querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => decide(button.dataset.action));
  }
}

wire();
if (state.accessToken) enterConsole();
else $("email").focus();
