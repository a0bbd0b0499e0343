// The page's only script: upload with progress, live job status, cancel/retry.
// No build step; every user-supplied string goes in through textContent.
(function () {
  "use strict";

  // ---- Live status -------------------------------------------------------
  // Why polling and not server-sent events: an SSE viewer holds one of
  // gunicorn's few worker threads for as long as the page is open, while a
  // poll of the JSON API is a cheap indexed read that any proxy handles. One
  // request a second per unfinished video meets the page's "within about a
  // second" promise.
  var POLL_MS = 1000;
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
          setTimeout(tick, POLL_MS);
        });
    }
    tick();
  }

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

  // ---- Upload --------------------------------------------------------------
  var form = document.getElementById("upload-form");
  if (!form) return;
  var fileInput = document.getElementById("id_file");
  var dropZone = document.getElementById("drop-zone");
  var errorBox = document.getElementById("upload-error");
  var progressBox = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var barText = document.getElementById("upload-text");
  var cancelButton = document.getElementById("upload-cancel");
  var submitButton = document.getElementById("upload-button");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var quotaLeft = parseInt(form.dataset.quotaLeft, 10);
  var currentUpload = null;

  // Same as human_size() in videos/uploads.py, so both say the same sentence.
  function humanSize(n) {
    var units = ["bytes", "KiB", "MiB", "GiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    if (i === 0) return Math.round(n) + " bytes";
    return (Number.isInteger(n) ? n : n.toFixed(1)) + " " + units[i];
  }

  // Keep these messages in step with the server's (videos/uploads.py,
  // videos/forms.py, videos/services/uploads.py, videos/middleware.py).
  function tooLargeMessage() { return "The file is larger than the " + form.dataset.maxHuman + " upload limit."; }
  function notVideoMessage(type) { return "Only video files can be uploaded; this file is " + type + "."; }
  function quotaMessage(size) {
    return "This upload needs " + humanSize(size) + " but only " + humanSize(Math.max(0, quotaLeft)) +
      " of your " + form.dataset.quotaHuman + " quota is left. Delete videos to make room.";
  }
  // When a refusal has no JSON body (a proxy's page, or a connection the
  // server closed while the file was still being sent), say it by status.
  function statusMessage(status, retryAfter) {
    if (status === 413) return tooLargeMessage();
    if (status === 411) return "Send the upload with a Content-Length header; uploads of unknown length are not accepted.";
    if (status === 429) return "Too many requests. Try again in " + (retryAfter || "a few") + " seconds.";
    if (status === 401 || status === 403) return "Your session has ended. Log in again, then retry the upload.";
    if (status === 503) return "The service is temporarily unavailable. Please try again in a moment.";
    return "The upload failed (HTTP " + status + ").";
  }
  var NEUTRAL = { "": true, "application/octet-stream": true, "application/mp4": true, "application/x-matroska": true };

  function refusal(file) {
    if (file.size > maxBytes) return tooLargeMessage();
    var type = (file.type || "").toLowerCase();
    if (type.indexOf("video/") !== 0 && !NEUTRAL[type]) return notVideoMessage(type);
    if (file.size === 0) return "The file is empty.";
    if (!isNaN(quotaLeft) && file.size > quotaLeft) return quotaMessage(file.size);
    return null;
  }

  function humanBytes(n) {
    var units = ["bytes", "KiB", "MiB", "GiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  function addRow(created) {
    var row = document.getElementById("row-template").content.firstElementChild.cloneNode(true);
    row.dataset.apiUrl = created.url;
    row.dataset.status = created.status;
    document.getElementById("video-list").prepend(row);
    document.getElementById("empty-list").hidden = true;
    poll(row);
  }

  function setBusy(busy) {
    submitButton.disabled = busy;
    cancelButton.hidden = !busy;
    progressBox.hidden = !busy;
  }

  function upload(file) {
    errorBox.textContent = "";
    var problem = refusal(file);
    if (problem) { errorBox.textContent = problem; return; }
    var data = new FormData();
    data.append("file", file);
    data.append("title", document.getElementById("id_title").value);
    var xhr = new XMLHttpRequest();
    var started = performance.now();
    currentUpload = xhr;
    setBusy(true);
    bar.value = 0;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var seconds = (performance.now() - started) / 1000;
      bar.value = Math.round((e.loaded / e.total) * 100);
      barText.textContent = bar.value + "% · " + humanBytes(e.loaded) + " of " + humanBytes(e.total) +
        (seconds > 0.2 ? " · " + humanBytes(e.loaded / seconds) + "/s" : "");
    });
    xhr.addEventListener("load", function () {
      setBusy(false);
      currentUpload = null;
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { /* not JSON: handled below */ }
      if (xhr.status === 201) { quotaLeft -= file.size; form.reset(); addRow(body); return; }
      errorBox.textContent = body.error || statusMessage(xhr.status, xhr.getResponseHeader("Retry-After"));
    });
    xhr.addEventListener("error", function () {
      setBusy(false); currentUpload = null;
      errorBox.textContent = "The upload was interrupted. Check your connection and try again.";
    });
    xhr.addEventListener("abort", function () {
      setBusy(false); currentUpload = null;
      errorBox.textContent = "Upload cancelled.";
    });
    xhr.open("POST", form.dataset.apiUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(data);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (fileInput.files.length) upload(fileInput.files[0]);
    else errorBox.textContent = "Choose a video file to upload.";
  });
  fileInput.addEventListener("change", function () {
    if (fileInput.files.length) upload(fileInput.files[0]);
  });
  cancelButton.addEventListener("click", function () { if (currentUpload) currentUpload.abort(); });

  ["dragenter", "dragover"].forEach(function (name) {
    dropZone.addEventListener(name, function (e) { e.preventDefault(); dropZone.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function (e) { e.preventDefault(); dropZone.classList.remove("dragover"); });
  });
  dropZone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
})();
