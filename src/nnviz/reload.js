// Live reload for `nnviz serve` only (the server adds this script to every page it sends; the
// built site never has it). Long-polls the build state: a new successful build reloads the page,
// a failed one shows its error on top of the page, which stays as it was.
const BOX_ID = "nnviz-serve-error";

function show(error) {
  let box = document.getElementById(BOX_ID);
  if (!error) {
    box?.remove();
    return;
  }
  if (!box) {
    box = document.createElement("div");
    box.id = BOX_ID;
    box.setAttribute("role", "alert");
    Object.assign(box.style, {
      position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483647", margin: "0",
      maxHeight: "50vh", overflow: "auto", padding: "0.75rem 1rem", background: "#5c0b0b",
      color: "#fff", font: "13px/1.4 ui-monospace, monospace", whiteSpace: "pre-wrap",
    });
    document.body.append(box);
  }
  box.textContent = `nnviz serve: the rebuild failed, this is the previous site.\n\n${error}`;
}

async function poll() {
  let since = -1;                      // -1: answer at once with the current state
  for (;;) {
    let state;
    try {
      const r = await fetch(`/__nnviz/status?since=${since}`, {cache: "no-store"});
      state = await r.json();
    } catch {
      await new Promise((ok) => setTimeout(ok, 2000));   // server restarting: try again
      continue;
    }
    if (since >= 0 && state.version !== since && !state.error) {
      location.reload();
      return;
    }
    show(state.error);
    since = state.version;
  }
}

poll();
