// The detail page's player: the adaptive HLS ladder through hls.js (or the
// browser's own HLS), a quality menu, and scrub previews from the storyboard.
// The URLs come in data attributes (no inline script: CSP-friendly), and the
// playlists come from the web's /media/, which checks ownership and signs
// the segments (docs/storage.md, "Playback").
(function () {
  "use strict";

  function formatTime(s) {
    s = Math.max(0, Math.floor(s || 0));
    var m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  // ---- Quality menu ---------------------------------------------------------
  // Also used by live_player.js once a job watched while processing is ready.
  function qualityMenuAttach(box, hls) {
    var menu = box.querySelector("#quality");
    var now = box.querySelector("#quality-now");
    if (!menu) return;
    if (!hls) { menu.parentNode.hidden = true; return; } // only hls.js lets a page choose
    var levelOf = {}; // rung name -> hls.js level index (hls.js orders levels itself)
    var levelsRead = function () {
      hls.levels.forEach(function (level, index) {
        var uri = level.uri || (Array.isArray(level.url) ? level.url[0] : level.url);
        var match = /\/([^/]+)\/index\.m3u8$/.exec(uri || "");
        if (match) levelOf[match[1]] = index;
      });
      Array.prototype.slice.call(menu.options).forEach(function (option) {
        if (option.value !== "auto" && !(option.value in levelOf)) option.remove();
      });
    };
    // The live player attaches it after hls.js has read the master.
    if (hls.levels && hls.levels.length) levelsRead();
    else hls.on(window.Hls.Events.MANIFEST_PARSED, levelsRead);
    var showLevel = function (level) {
      var name = Object.keys(levelOf).filter(function (n) { return levelOf[n] === level; })[0] || "";
      box.dataset.level = name;
      now.textContent = name ? "Playing " + name + (hls.autoLevelEnabled ? " (auto)" : "") : "";
    };
    menu.addEventListener("change", function () {
      // -1 is hls.js's automatic choice; a number switches now, flushing the buffer.
      hls.currentLevel = menu.value === "auto" ? -1 : levelOf[menu.value];
      // Going back to Auto may keep the same rung, and then no switch event comes.
      if (menu.value === "auto") showLevel(hls.currentLevel);
    });
    hls.on(window.Hls.Events.LEVEL_SWITCHED, function (event, data) { showLevel(data.level); });
    if (hls.currentLevel >= 0) showLevel(hls.currentLevel);
  }

  window.videoPlayer = { formatTime: formatTime, qualityMenuAttach: qualityMenuAttach };

  // The page of a job still processing has its own player (live_player.js).
  var box = document.querySelector("[data-player]:not([data-live])");
  if (!box) return;
  var video = document.getElementById("player");
  var hlsUrl = box.dataset.hlsUrl;
  var mp4Url = box.dataset.mp4Url;

  // ---- Source: hls.js, else native HLS (Safari), else the MP4 --------------
  var hls = null;
  if (hlsUrl && window.Hls && window.Hls.isSupported()) {
    hls = attachHls();
    box.dataset.engine = "hls.js";
  } else if (hlsUrl && video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = hlsUrl;
    box.dataset.engine = "native";
  } else {
    if (!video.getAttribute("src")) video.src = mp4Url;
    box.dataset.engine = "mp4";
  }

  function attachHls() {
    var player = new window.Hls({ capLevelToPlayerSize: true });
    var lastRecovery = 0;
    player.on(window.Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) return; // hls.js retries those itself
      // Recover once in a while, never in a loop. A network error after a
      // long pause is most often expired segment signatures: loading the
      // playlists again signs them anew, and playback resumes where it was.
      var now = Date.now();
      if (now - lastRecovery < 10000) { player.destroy(); video.src = mp4Url; return; }
      lastRecovery = now;
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) { player.recoverMediaError(); return; }
      player.config.startPosition = video.currentTime;
      player.loadSource(hlsUrl);
    });
    player.loadSource(hlsUrl);
    player.attachMedia(video);
    return player;
  }

  qualityMenuAttach(box, hls);

  // ---- Scrub previews -------------------------------------------------------
  // The storyboard is a WebVTT metadata track: the browser parses it, and
  // each cue's text is "<sprite URL>#xywh=x,y,w,h".
  var seek = document.getElementById("seek");
  var preview = document.getElementById("scrub-preview");
  var trackElement = video.querySelector("track[kind=metadata]");
  if (!seek || !preview || !trackElement) return;
  var track = trackElement.track;
  track.mode = "hidden"; // loads the cues without showing them
  var tile = preview.querySelector("[data-scrub-tile]");
  var timeLabel = preview.querySelector("[data-scrub-time]");

  function cueAt(time) {
    var cues = track.cues || [];
    for (var i = 0; i < cues.length; i++) {
      if (cues[i].startTime <= time && time < cues[i].endTime) return cues[i];
    }
    return cues.length ? cues[cues.length - 1] : null;
  }

  function showPreview(time) {
    var cue = cueAt(time);
    var match = cue && /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.text.trim());
    if (!match || !video.duration) { preview.hidden = true; return; }
    tile.style.width = match[4] + "px";
    tile.style.height = match[5] + "px";
    // JSON string quoting is valid CSS string quoting for a URL.
    tile.style.backgroundImage = "url(" + JSON.stringify(match[1]) + ")";
    tile.style.backgroundPosition = "-" + match[2] + "px -" + match[3] + "px";
    timeLabel.textContent = formatTime(time);
    preview.dataset.tile = match[2] + "," + match[3];
    var width = seek.clientWidth, half = parseInt(match[4], 10) / 2;
    var x = (time / video.duration) * width;
    preview.style.left = Math.min(Math.max(x - half, 0), Math.max(width - 2 * half, 0)) + "px";
    preview.hidden = false;
  }

  function hidePreview() { preview.hidden = true; }

  function timeAtPointer(event) {
    var rect = seek.getBoundingClientRect();
    return Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1) * (video.duration || 0);
  }

  video.addEventListener("durationchange", function () { seek.max = String(video.duration || 0); });
  video.addEventListener("timeupdate", function () {
    if (seek.dataset.dragging) return;
    seek.value = String(video.currentTime);
    seek.setAttribute("aria-valuetext", formatTime(video.currentTime) + " of " + formatTime(video.duration));
  });
  seek.addEventListener("pointermove", function (event) { showPreview(timeAtPointer(event)); });
  seek.addEventListener("pointerleave", function () { if (!seek.dataset.dragging) hidePreview(); });
  seek.addEventListener("pointerdown", function () { seek.dataset.dragging = "1"; });
  seek.addEventListener("pointerup", function () { delete seek.dataset.dragging; });
  // While dragging (or with the arrow keys) only the preview follows; the
  // video seeks once, on release, instead of fetching segments all the way.
  seek.addEventListener("input", function () {
    seek.dataset.dragging = "1";
    showPreview(parseFloat(seek.value));
  });
  seek.addEventListener("change", function () {
    delete seek.dataset.dragging;
    video.currentTime = parseFloat(seek.value);
    hidePreview();
  });
  seek.addEventListener("blur", hidePreview);
  // Seeking with the native controls shows the tile too, until the frame is there.
  video.addEventListener("seeking", function () { showPreview(video.currentTime); });
  video.addEventListener("seeked", function () { if (!seek.dataset.dragging) hidePreview(); });
})();
