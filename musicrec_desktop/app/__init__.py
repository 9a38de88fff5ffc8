"""The desktop shell (PySide6): tray icon, worker thread, windows. The core never imports this."""
