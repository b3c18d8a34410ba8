"use client";
import { FormFooter } from "./form";
import { Alert, Dialog } from "./ui";

/**
 * A modal form: the dialog, the form's error line, the fields, and Cancel / the primary
 * button. Submitting (Enter or the button) calls `onSubmit`; validation is the caller's.
 */
export function FormDialog({
  open = true,
  onClose,
  title,
  description,
  error,
  onSubmit,
  submitLabel,
  busyLabel,
  busy,
  disabled,
  children,
}: {
  open?: boolean;
  onClose: () => void;
  title: string;
  description?: string;
  /** a message for the whole form (field errors belong on their Field) */
  error?: string | null;
  onSubmit: () => void;
  submitLabel: string;
  busyLabel?: string;
  busy?: boolean;
  disabled?: boolean;
  children: React.ReactNode;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={description}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        <Alert>{error}</Alert>
        {children}
        <FormFooter onCancel={onClose} submitLabel={submitLabel} busyLabel={busyLabel} busy={busy} disabled={disabled} />
      </form>
    </Dialog>
  );
}
