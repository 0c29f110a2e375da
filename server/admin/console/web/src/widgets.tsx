// Small shared pieces: the error banner and the form fields.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ApiError } from "./api";
import type { FieldSpec } from "./resources";

export type Row = { case: string; value: string };
export type FormValue = string | boolean | Row[] | Record<string, string>;

/** The oneof cases of a repeated message field, e.g. principals: any, id, commonName, ... */
export function oneofCases(f: DescField): DescField[] {
  return f.message?.oneofs[0]?.fields ?? [];
}

/** Shows a refused or failed call; a 409 and a 403 say what they mean. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  let text = error instanceof Error ? error.message : String(error);
  let title = "Error";
  if (error instanceof ApiError) {
    if (error.status === 409) title = "Conflict (409)";
    else if (error.status === 403) title = "Not allowed (403)";
    else if (error.status === 401) title = "Not signed in (401)";
    else title = `Refused (${error.status})`;
  } else if (error instanceof TypeError) {
    text = "The gateway did not answer: " + text;
  }
  return (
    <div class="error" role="alert">
      <strong>{title}:</strong> {text}
    </div>
  );
}

const label = (s: string) => s.replace(/([A-Z])/g, " $1").toLowerCase();

interface FieldsProps {
  schema: DescMessage;
  specs: FieldSpec[];
  form: Record<string, FormValue>;
  creating: boolean;
  onChange: (name: string, v: FormValue) => void;
  errorField: string | null;
  errorText: string;
}

/** The form fields of a resource, each labelled, with the API's error on the field it names. */
export function Fields({ schema, specs, form, creating, onChange, errorField, errorText }: FieldsProps) {
  return (
    <>
      {specs.map((spec) => {
        const f = schema.fields.find((x) => x.name === spec.name) as DescField;
        const id = `f-${spec.name}`;
        const invalid = errorField === spec.name;
        const describedBy = [spec.help ? `${id}-help` : "", invalid ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
        const common = { id, name: spec.name, "aria-invalid": invalid ? ("true" as const) : undefined, "aria-describedby": describedBy };
        const v = form[spec.name];
        let input;
        switch (spec.kind) {
          case "bool":
            input = <input {...common} type="checkbox" checked={v === true} onChange={(e) => onChange(spec.name, e.currentTarget.checked)} />;
            break;
          case "textarea":
            input = <textarea {...common} rows={2} value={v as string} onInput={(e) => onChange(spec.name, e.currentTarget.value)} />;
            break;
          case "strings":
            input = (
              <textarea {...common} rows={3} placeholder={spec.placeholder} value={v as string} onInput={(e) => onChange(spec.name, e.currentTarget.value)} />
            );
            break;
          case "enum":
            input = (
              <select {...common} value={v as string} onChange={(e) => onChange(spec.name, e.currentTarget.value)}>
                {f.enum?.values
                  .filter((x) => x.number !== 0)
                  .map((x) => (
                    <option value={x.name}>{x.localName.toLowerCase()}</option>
                  ))}
              </select>
            );
            break;
          case "oneofs":
            input = <OneofRows common={common} field={f} rows={(v as Row[]) ?? []} onChange={(rows) => onChange(spec.name, rows)} />;
            break;
          case "message":
            input = (
              <div class="sub-fields" {...common}>
                {f.message?.fields.map((sub) => (
                  <label>
                    {label(sub.jsonName)}
                    <input
                      type="text"
                      name={`${spec.name}.${sub.name}`}
                      value={(v as Record<string, string>)?.[sub.jsonName] ?? ""}
                      onInput={(e) => onChange(spec.name, { ...(v as Record<string, string>), [sub.jsonName]: e.currentTarget.value })}
                    />
                  </label>
                ))}
              </div>
            );
            break;
          default:
            input = (
              <input
                {...common}
                type="text"
                autocomplete="off"
                spellcheck={false}
                placeholder={spec.placeholder}
                readOnly={spec.key && !creating}
                value={v as string}
                onInput={(e) => onChange(spec.name, e.currentTarget.value)}
              />
            );
        }
        return (
          <div class={`field${invalid ? " invalid" : ""}`} data-field={spec.name}>
            <label for={id}>{spec.label}</label>
            {input}
            {spec.help && (
              <p class="help" id={`${id}-help`}>
                {spec.help}
              </p>
            )}
            {invalid && (
              <p class="field-error" id={`${id}-error`} role="alert">
                {errorText}
              </p>
            )}
          </div>
        );
      })}
    </>
  );
}

function OneofRows({ common, field, rows, onChange }: { common: Record<string, unknown>; field: DescField; rows: Row[]; onChange: (rows: Row[]) => void }) {
  const cases = oneofCases(field);
  const isBool = (c: string) => cases.find((x) => x.jsonName === c)?.scalar === 8;
  const set = (i: number, r: Row) => onChange(rows.map((x, j) => (i === j ? r : x)));
  return (
    <div class="rows" {...common} role="group">
      {rows.map((r, i) => (
        <div class="row">
          <select aria-label={`${field.name} ${i + 1} kind`} value={r.case} onChange={(e) => set(i, { case: e.currentTarget.value, value: r.value })}>
            {cases.map((c) => (
              <option value={c.jsonName}>{label(c.jsonName)}</option>
            ))}
          </select>
          {isBool(r.case) ? (
            <span class="muted">(matches every caller)</span>
          ) : (
            <input type="text" aria-label={`${field.name} ${i + 1} value`} value={r.value} onInput={(e) => set(i, { case: r.case, value: e.currentTarget.value })} />
          )}
          <button type="button" aria-label={`remove ${field.name} ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" class="add" onClick={() => onChange([...rows, { case: cases[1]?.jsonName ?? cases[0]?.jsonName ?? "", value: "" }])}>
        Add {field.name.replace(/s$/, "")}
      </button>
    </div>
  );
}
