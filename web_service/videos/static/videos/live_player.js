// The detail page's player while the job is still processing (issue 26).
// The worker publishes the ladder as ffmpeg makes it: EVENT playlists that
// grow, under the attempt's own keys (docs/messages.md, "preview"). app.js
// hands every polled video to update(); once it has a `preview`, hls.js
// plays it from the start and reloads the playlists as they grow (a playlist
// without ENDLIST is live to hls.js). Our seek bar spans the whole source
// and shows how far it is encoded; a seek past that edge waits there,
// "still encoding", and plays once the encoder has reached it, since the
// browser could only clamp it to the edge. Ready with the same attempt:
// nothing is reloaded, hls.js reads ENDLIST at its next playlist reload and
// finds the same segments. Another attempt (a redelivery, or a result of
// another attempt) is a new hls.js instance and a new buffer, so segments
// of two attempts never meet. Every user string goes in through textContent.
(function () {
  "use strict";

  var box = document.querySelector("[data-player][data-live]");
  if (!box) return;
  var video = document.getElementById("player");
  var seek = box.querySelector("[data-live-seek]");
  var encodedBar = box.querySelector("[data-encoded]");
  var encodedText = box.querySelector("[data-encoded-text]");
  var note = box.querySelector("[data-live-note]");
  var download = document.querySelector("[data-live-download]");
  var formatTime = window.videoPlayer.formatTime;
  // Past a target by this much before it plays: the short first segments
  // are 1 s, so the frame is there and a little to play after it.
  var MARGIN = 1;

  var hls = null;
  var url = "";        // the playlist playing: one attempt's master
  var hlsEdge = 0;     // the end of the playlist hls.js last read
  var ended = false;   // that playlist had ENDLIST: all of it is encoded
  var reported = 0;    // preview.encoded_seconds, the worker's own count
  var duration = 0;    // the source's, what the seek bar spans
  var pending = null;  // a time asked for and not encoded yet
  var instances = 0;

  function edge() {
    if (ended) return Infinity;
    // hls.js can play what its playlist lists; natively, trust the worker.
    return hls ? hlsEdge : reported;
  }

  function play() {
    var promise = video.play();
    if (promise) promise.catch(function () { /* autoplay refused: the controls are there */ });
  }

  function detach() {
    if (hls) { hls.destroy(); hls = null; }
    video.removeAttribute("src");
    video.load();
  }

  function attach(source, startAt) {
    detach();
    url = source; hlsEdge = 0; ended = false;
    instances += 1;
    box.dataset.source = source;
    box.dataset.instances = String(instances);
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ startPosition: startAt, capLevelToPlayerSize: true });
      hls.on(window.Hls.Events.LEVEL_LOADED, function (event, data) {
        var details = data.details;
        hlsEdge = Math.max(hlsEdge, details.edge || details.totalduration || 0);
        ended = !details.live;
        refresh();
      });
      hls.on(window.Hls.Events.ERROR, onError);
      hls.loadSource(source);
      hls.attachMedia(video);
      box.dataset.engine = "hls.js";
    } else {
      video.src = source; // Safari's own HLS reloads an EVENT playlist too
      if (startAt > 0) {
        video.addEventListener("loadedmetadata", function () { video.currentTime = startAt; }, { once: true });
      }
      box.dataset.engine = "native";
    }
    box.hidden = false;
    if (pending === null) play();
  }

  var lastRecovery = 0;
  function onError(event, data) {
    if (!data.fatal) return; // hls.js retries those itself
    box.dataset.lastError = data.details;
    // An attempt that died takes its playlists with it (404): the poll
    // brings the next attempt's URL, then update() switches. Until then,
    // try again now and then, never in a loop.
    var now = Date.now();
    if (now - lastRecovery < 3000) return;
    lastRecovery = now;
    if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
    var current = hls;
    setTimeout(function () {
      if (hls === current) hls.startLoad(video.currentTime);
    }, 1000);
  }

  // Wait at the edge for a time not encoded yet; play it once it is.
  function wait(target) {
    pending = target;
    box.dataset.waiting = String(target);
    note.textContent = "Still encoding: playing from " + formatTime(target) + " as soon as it is ready.";
    note.hidden = false;
    video.pause();
    var at = Math.max(0, Math.min(target, edge() - MARGIN));
    if (isFinite(at) && at > video.currentTime) video.currentTime = at;
    refresh();
  }

  function seekTo(target) {
    if (target + MARGIN <= edge()) {
      pending = null;
      video.currentTime = target;
      play();
    } else {
      wait(target);
    }
  }

  // The seek bar, the encoded part, and a pending seek, after any news.
  function refresh() {
    var limit = Math.min(Math.max(edge(), reported), duration || Infinity);
    if (duration) {
      seek.max = String(duration);
      encodedBar.max = duration;
      encodedBar.value = isFinite(limit) ? limit : duration;
      encodedText.textContent = ended
        ? "Encoded: all " + formatTime(duration)
        : "Encoded: " + formatTime(limit) + " of " + formatTime(duration);
      box.dataset.encoded = String(encodedBar.value);
    }
    if (pending !== null && (pending + MARGIN <= edge() || ended)) {
      var target = pending;
      pending = null;
      delete box.dataset.waiting;
      note.hidden = true;
      video.currentTime = target;
      play();
    }
  }

  video.addEventListener("timeupdate", function () {
    if (seek.dataset.dragging) return;
    seek.value = String(video.currentTime);
    seek.setAttribute("aria-valuetext", formatTime(video.currentTime) + " of " + formatTime(duration));
  });
  seek.addEventListener("input", function () { seek.dataset.dragging = "1"; });
  seek.addEventListener("change", function () {
    delete seek.dataset.dragging;
    seekTo(parseFloat(seek.value));
  });
  // While waiting, playing on from the edge would only stall there again.
  video.addEventListener("play", function () { if (pending !== null) video.pause(); });

  function ready(item) {
    box.dataset.state = "ready";
    duration = Math.max(duration, (item.source && item.source.duration) || 0);
    if (item.hls_url && item.hls_url !== url) {
      // Another attempt won: its segments, from where the viewer is.
      var at = pending !== null ? pending : video.currentTime;
      pending = null;
      attach(item.hls_url, at);
    }
    note.hidden = true;
    var output = item.outputs && item.outputs[0];
    if (output && output.url && download) {
      var link = download.querySelector("a");
      link.href = output.url + "?download=1";
      link.textContent = "Download MP4";
      download.hidden = false;
    }
    var menu = box.querySelector("#quality");
    if (menu && hls && (item.rungs || []).length) {
      (item.rungs || []).forEach(function (rung) {
        var option = document.createElement("option");
        option.value = rung.name;
        option.textContent = rung.name;
        menu.appendChild(option);
      });
      menu.parentNode.hidden = false;
      window.videoPlayer.qualityMenuAttach(box, hls);
    }
  }

  function stop() {
    url = "";
    pending = null;
    detach();
    box.hidden = true;
    box.dataset.state = "stopped";
  }

  // Returns whether the page's player follows this video (app.js then
  // leaves the page as it is instead of reloading it once ready).
  function update(item) {
    if (item.status === "failed" || item.status === "cancelled") {
      if (url) stop(); // and app.js shows the reason
      return false;
    }
    if (item.status === "ready") {
      if (!url) return false; // never played here: the page is drawn anew
      ready(item);
      return true;
    }
    var preview = item.preview;
    if (!url && !preview) return false;
    box.dataset.state = "processing";
    if (!preview) return true; // a redelivery started: what plays goes on until it has a preview
    duration = preview.duration || duration;
    reported = preview.encoded_seconds || 0;
    if (preview.hls_url !== url) {
      // The first preview plays from the start. A new attempt starts from
      // nothing: the viewer waits where they were until it gets there.
      var at = url ? (pending !== null ? pending : video.currentTime) : 0;
      pending = at > 0 ? at : null;
      attach(preview.hls_url, 0);
      if (at > 0) wait(at);
    }
    refresh();
    return true;
  }

  window.livePlayer = { update: update };
})();
