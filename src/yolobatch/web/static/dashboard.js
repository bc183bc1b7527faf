// The dashboard's only script besides HTMX. The Content-Security-Policy allows scripts from this origin
// alone, so nothing runs from inline attributes or <script> blocks: behaviour hangs off data- attributes.
(() => {
  // Live updates replace the grid's rows several times a second; a click listener on the document (not on
  // a row's link, which may be swapped out mid-click) opens the drawer every time.
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-drawer]');
    // A modified click (new tab, new window) follows the link's own page, as a link should.
    if (link && !(event.ctrlKey || event.metaKey || event.shiftKey || event.button)) {
      event.preventDefault();
      opener = link;
      htmx.ajax('GET', link.dataset.drawer, {target: '#drawer', swap: 'innerHTML'});
      return;
    }
    const copy = event.target.closest('button[data-copy]');
    if (copy) {
      navigator.clipboard.writeText(copy.dataset.copy).then(() => { copy.textContent = 'Copied'; });
      return;
    }
    if (event.target.closest('[data-close-drawer]')) closeDrawer();
  });
  // The drawer is a dialog: it takes focus when it opens, Escape closes it, and focus goes back to the
  // link that opened it (or a page-level drawer, without an opener, leads back to its batch).
  let opener = null;
  const closeDrawer = () => {
    const drawer = document.getElementById('drawer');
    if (!drawer || !drawer.firstElementChild) return;
    if (drawer.classList.contains('page')) {
      const back = document.querySelector('.crumbs a[href^="/batches/"]');
      if (back) window.location.assign(back.href);
      return;
    }
    drawer.innerHTML = '';
    const row = opener && opener.isConnected ? opener
      : opener && document.querySelector(`a[data-drawer="${opener.dataset.drawer}"]`);
    if (row) row.focus();
  };
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeDrawer();
  });
  document.addEventListener('htmx:afterSwap', (event) => {
    if (event.target.id !== 'drawer') return;
    const panel = event.target.querySelector('.drawer');
    // A refresh inside the drawer keeps the person's place; only a newly opened drawer takes focus.
    if (panel && !event.target.contains(document.activeElement)) panel.focus();
  });
  // Capture phase: the page number must be set before HTMX, on the button itself, reads it for the request
  // (a live refresh racing with the click then asks for the same page).
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-page]');
    if (button) document.getElementById('grid-page').value = button.dataset.page;
  }, true);
  document.addEventListener('change', (event) => {
    if (event.target.matches('select[data-autosubmit]')) event.target.form.submit();
  });
  // A config's image that cannot be fetched (gone, private, not an image) says so instead of a broken icon.
  document.addEventListener('error', (event) => {
    const img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.closest('.config-preview')) return;
    const note = document.createElement('span');
    note.className = 'muted small unavailable';
    note.textContent = `${img.alt}: could not be loaded`;
    img.replaceWith(note);
  }, true);
  // Match scores draw their bar from a CSS variable; inline style attributes are not allowed either.
  const scores = (root) => root.querySelectorAll('.score[data-score]').forEach((el) => {
    el.style.setProperty('--score', el.dataset.score);
  });
  document.addEventListener('DOMContentLoaded', () => scores(document));
  document.addEventListener('htmx:afterSettle', (event) => scores(event.target));
})();
