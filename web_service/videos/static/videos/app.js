// The page's live list: job status, cancel/retry. Uploads: uploader.js.
// No build step; every user-supplied string goes in through textContent.
(function () {
  "use strict";

  // ---- Live status -------------------------------------------------------
  // Why polling and not server-sent events: an SSE viewer holds one of
  // gunicorn's few worker threads (2 workers x 4 threads) for as long as the
  // page is open, so eight open pages would stop the site, while a poll of
  // the JSON API is one indexed read that any proxy handles. Polling every
  // 250 ms puts a stored status on the page within about 300 ms (bench/
  // results.md: "SUCCESS stored -> page shows ready"), and a poll costs a
  // few ms of one thread, so one thread keeps up with dozens of watched
  // videos. Only unfinished videos are polled, and not while the tab is
  // hidden: a background tab sends nothing until it is shown again.
  var POLL_MS = 250;
  var FINAL = { ready: true, failed: true, cancelled: true };
  var announcer = document.getElementById("live-status");

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function field(row, name) { return row.querySelector('[data-field="' + name + '"]'); }

  function setText(row, name, text) { var n = field(row, name); if (n) n.textContent = text; }

  function formatSeconds(s) {
    if (s < 60) return s + " s";
    return Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  function detailText(video) {
    if (video.status === "queued") {
      return video.queue_position ? "Waiting · #" + video.queue_position + " in queue" : "Waiting";
    }
    if (video.status === "processing") {
      var text = video.progress + "% " + (video.stage || "");
      if (video.eta_seconds !== null && video.eta_seconds !== undefined) {
        text += " · about " + formatSeconds(video.eta_seconds) + " left";
      }
      return text;
    }
    if (video.status === "ready" && video.outputs.length) {
      var o = video.outputs[0];
      return o.width + "×" + o.height + " · " + o.duration.toFixed(1) + " s";
    }
    return "";
  }

  function render(row, video) {
    var before = row.dataset.status;
    row.dataset.status = video.status;
    row.dataset.apiUrl = video.url;
    var badge = field(row, "status");
    if (badge) { badge.textContent = video.status; badge.className = "badge badge-" + video.status; }
    var bar = field(row, "progress");
    if (bar) { bar.value = video.progress; bar.hidden = video.status === "ready"; }
    setText(row, "detail", detailText(video));
    setText(row, "error", video.status === "failed" || video.status === "cancelled" ? (video.error || "") : "");
    if (!row.hasAttribute("data-detail")) {
      setText(row, "title", video.title || video.original_filename);
      var href = "/videos/" + video.id + "/";
      field(row, "title").href = href;
      field(row, "link").href = href;
      if (video.poster_url) {
        var img = field(row, "poster");
        if (img.getAttribute("src") !== video.poster_url) img.src = video.poster_url;
        img.hidden = false;
        field(row, "poster-empty").hidden = true;
      }
    }
    row.querySelector('[data-action="cancel"]').hidden = !video.can_cancel;
    row.querySelector('[data-action="retry"]').hidden = !video.can_retry;
    if (before !== video.status && announcer) {
      announcer.textContent = (video.title || video.original_filename) + ": " + video.status;
    }
    // The detail page shows the player once ready: load it then.
    if (row.hasAttribute("data-detail") && before !== video.status && video.status === "ready") {
      window.location.reload();
    }
  }

  function poll(row) {
    if (row.dataset.polling === "1") return;
    row.dataset.polling = "1";
    function tick() {
      fetch(row.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (video) { render(row, video); })
        .catch(function () { /* transient: the next tick tries again */ })
        .then(function () {
          if (FINAL[row.dataset.status]) { row.dataset.polling = ""; return; }
          if (document.hidden) { row.dataset.polling = "paused"; return; }
          setTimeout(tick, POLL_MS);
        });
    }
    tick();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    document.querySelectorAll('[data-video-row][data-polling="paused"]').forEach(function (row) {
      row.dataset.polling = "";
      poll(row);
    });
  });

  function act(row, action) {
    var errorNode = field(row, "error");
    fetch(row.dataset.apiUrl + action + "/", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { errorNode.textContent = res.body.error; return; }
        render(row, res.body);
        poll(row);
      })
      .catch(function () { errorNode.textContent = "Could not reach the server. Try again."; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    act(button.closest("[data-video-row]"), button.dataset.action);
  });

  // Deleting is final: ask first. The form posts to the server either way.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  document.querySelectorAll("[data-video-row][data-api-url]").forEach(function (row) {
    if (row.dataset.apiUrl) poll(row);
  });

  // ---- New rows ------------------------------------------------------------
  // The upload form (static/videos/uploader.js) adds the row of a video it
  // has just created; from then on it is polled like every other row.
  function addRow(created) {
    var row = document.getElementById("row-template").content.firstElementChild.cloneNode(true);
    row.dataset.apiUrl = created.url;
    row.dataset.status = created.status;
    document.getElementById("video-list").prepend(row);
    document.getElementById("empty-list").hidden = true;
    poll(row);
  }
  window.videoList = { add: addRow };
})();
