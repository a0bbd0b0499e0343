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
  // few ms of one thread. The server draws finished rows whole, so they are
  // never asked about; the rows still moving are asked about together, in
  // one GET /api/videos/?ids=a,b,c a tick (a request per row used to reach
  // the API's throttle with a few uploads at once). Nothing is sent while
  // the tab is hidden, or once every row is final.
  var POLL_MS = 250;
  var FINAL = { ready: true, failed: true, cancelled: true };
  var announcer = document.getElementById("live-status");
  var live = document.querySelector("[data-live-url]");
  var liveBatch = live ? parseInt(live.dataset.liveBatch, 10) || 1 : 1;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function field(row, name) { return row.querySelector('[data-field="' + name + '"]'); }

  function setText(row, name, text) { var n = field(row, name); if (n) n.textContent = text; }

  function render(row, video) {
    var before = row.dataset.status;
    row.dataset.status = video.status;
    row.dataset.apiUrl = video.url;
    var badge = field(row, "status");
    if (badge) { badge.textContent = video.status; badge.className = "badge badge-" + video.status; }
    // On the detail page the player (live_player.js) plays the job while it
    // runs, once the worker has published a preview; the bar gives way to it.
    var playing = row.hasAttribute("data-detail") && window.livePlayer
      ? window.livePlayer.update(video) : false;
    var bar = field(row, "progress");
    if (bar) { bar.value = video.progress; bar.hidden = !!FINAL[video.status] || playing; }
    // The same line the server drew (presenters.video_status_text).
    setText(row, "detail", video.status_text);
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
    // The detail page shows the player once ready: load it then, unless
    // the job already plays here (then the same playback carries on).
    if (row.hasAttribute("data-detail") && before !== video.status && video.status === "ready" && !playing) {
      window.location.reload();
    }
  }

  // The rows to ask about: not final, and not gone (deleted elsewhere).
  function movingRows() {
    return Array.prototype.filter.call(
      document.querySelectorAll("[data-video-row][data-video-id]"),
      function (row) { return row.dataset.videoId && !FINAL[row.dataset.status] && !row.dataset.gone; }
    );
  }

  function fetchStates(rows) {
    var ids = rows.map(function (row) { return row.dataset.videoId; });
    var url = live.dataset.liveUrl + "?ids=" + ids.join(",");
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        var byId = {};
        body.results.forEach(function (video) { byId[video.id] = video; });
        rows.forEach(function (row) {
          var video = byId[row.dataset.videoId];
          // Asked for and not answered: no longer this person's video.
          if (video) render(row, video); else row.dataset.gone = "1";
        });
      })
      .catch(function () { /* transient: the next tick tries again */ });
  }

  var timer = null;
  var inFlight = false;

  // One tick asks for every moving row (in requests of liveBatch ids, the
  // API's most), then the next is set POLL_MS after the answers.
  function schedule(delay) {
    if (!live || timer !== null || inFlight || document.hidden || !movingRows().length) return;
    timer = setTimeout(tick, delay);
  }

  function tick() {
    timer = null;
    var rows = movingRows();
    if (document.hidden || !rows.length) return;
    var requests = [];
    for (var i = 0; i < rows.length; i += liveBatch) {
      requests.push(fetchStates(rows.slice(i, i + liveBatch)));
    }
    inFlight = true;
    Promise.all(requests).then(function () {
      inFlight = false;
      schedule(POLL_MS);
    });
  }

  document.addEventListener("visibilitychange", function () { schedule(0); });

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
        schedule(0);
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

  schedule(0);

  // ---- New rows ------------------------------------------------------------
  // The upload form (static/videos/uploader.js) adds the row of a video it
  // has just created; from then on it is asked about with the other rows.
  function addRow(created) {
    var row = document.getElementById("row-template").content.firstElementChild.cloneNode(true);
    row.dataset.apiUrl = created.url;
    row.dataset.videoId = created.url.split("/").filter(Boolean).pop(); // /api/videos/<id>/
    row.dataset.status = created.status;
    document.getElementById("video-list").prepend(row);
    document.getElementById("empty-list").hidden = true;
    schedule(0);
  }
  window.videoList = { add: addRow };
})();
