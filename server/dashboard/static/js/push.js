// Alerts on this device: the page subscribes the browser to Web Push with the server's VAPID key
// (GET /api/v1/webpush/key) and hands the subscription to the household
// (POST /api/v1/households/{h}/webpush, with its key or a member's session); the service worker
// shows each alert as a notification. Where the browser has no Push API, or the household is
// not the visitor's to change, the button explains why instead.

import {api} from "./api.js";

const enc = encodeURIComponent;

function urlBase64ToBytes(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function say(text) {
  const node = document.getElementById("push-status");
  node.textContent = text;
}

/** The service worker's registration, or null (never waits: ``ready`` would hang for ever
 * where service workers are blocked or not yet registered). */
async function registration() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  return (await navigator.serviceWorker.getRegistration("/")) || null;
}

/** Set the button for ``ctx`` (the chosen household): subscribed or not, able to or not. */
export async function loadPush(ctx) {
  const button = document.getElementById("push-toggle");
  const writable = ctx.keyed || ["owner", "member"].includes(ctx.role);
  const reg = await registration();
  if (!reg) {
    button.hidden = true;
    return say("This browser cannot receive push notifications (install the dashboard as an app, or use one that can).");
  }
  const current = await reg.pushManager.getSubscription();
  button.hidden = false;
  button.disabled = !writable;
  button.setAttribute("aria-pressed", String(Boolean(current && button.dataset.household === ctx.household)));
  button.textContent = current && button.dataset.household === ctx.household ? "Stop alerts on this device" : "Alerts on this device";
  say(writable ? "" : `Turning on alerts needs ${ctx.household}'s API key, or signing in as a member.`);
  button.onclick = () => toggle(ctx, reg, button);
}

async function toggle(ctx, reg, button) {
  button.disabled = true;
  try {
    const current = await reg.pushManager.getSubscription();
    const path = `/api/v1/households/${enc(ctx.household)}/webpush`;
    if (current && button.dataset.household === ctx.household) {
      await api(path, {household: ctx.household, method: "DELETE", body: {endpoint: current.endpoint}});
      await current.unsubscribe();
      delete button.dataset.household;
      say("Alerts are off on this device.");
    } else {
      if ((await Notification.requestPermission()) !== "granted") {
        return say("Notifications are blocked for this site: allow them in the browser's settings.");
      }
      const key = await api("/api/v1/webpush/key");
      if (!key.ok) return say(key.message);
      const sub = current || await reg.pushManager.subscribe(
        {userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(key.data.public_key)});
      const answer = await api(path, {household: ctx.household, method: "POST", body: sub.toJSON()});
      if (!answer.ok) return say(answer.message);
      button.dataset.household = ctx.household;
      say(`${ctx.household}'s alerts will show on this device while its alert settings send push.`);
    }
  } catch (err) {
    say(`Push could not be set up here: ${err.message || err}`);
  } finally {
    await loadPush(ctx);
  }
}
