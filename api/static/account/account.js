// The pages the account emails link to: confirm an address, choose a new password, accept
// an invitation. They only call the public API (/api/auth/...).

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
// Out of the address bar and history at once: the token is a credential.
history.replaceState(null, "", location.pathname);

const $ = (id) => document.getElementById(id);

function show(title, status = "") {
  $("title").textContent = title;
  $("status").textContent = status;
}

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function post(path, body, accessToken) {
  const headers = { "content-type": "application/json" };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data?.error?.message || `the server answered ${response.status}`);
  return data;
}

function finished(title, status) {
  show(title, status);
  for (const id of ["reset-form", "invite", "error"]) $(id).hidden = true;
  $("done").hidden = false;
}

async function verifyEmail() {
  show("Confirming your address…");
  try {
    await post("/api/auth/verify-email", { token });
    finished("Address confirmed", "Thank you: your email address is confirmed.");
  } catch (error) {
    show("This link did not work");
    fail(error.message);
  }
}

function resetPassword() {
  show("Choose a new password");
  $("reset-form").hidden = false;
  $("reset-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").hidden = true;
    const password = $("new-password").value;
    if (password.length < 8) return fail("Use 8 characters or more.");
    if (password !== $("repeat-password").value) return fail("The two passwords differ.");
    try {
      await post("/api/auth/reset-password", { token, password });
      finished("Password changed", "Sign in with your new password on each of your devices.");
    } catch (error) {
      fail(error.message);
    }
  });
}

function acceptInvitation() {
  show("Join your team on Chorus");
  $("invite").hidden = false;
  $("invite").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").hidden = true;
    try {
      const joined = await post("/api/auth/accept-invitation", {
        token,
        password: $("join-password").value,
        twoFactorCode: $("code").value || null,
        firstName: $("first-name").value || null,
        lastName: $("last-name").value || null,
      });
      finished("Welcome", `You joined ${joined.organization.name}.`);
    } catch (error) {
      fail(error.message);
    }
  });
}

const pages = {
  "/account/verify-email": verifyEmail,
  "/account/reset-password": resetPassword,
  "/account/accept-invitation": acceptInvitation,
};
if (!token) {
  show("This link is incomplete");
  fail("Open the link from the email as it is, or ask for a new one.");
} else {
  (pages[location.pathname] || (() => show("Unknown page")))();
}
