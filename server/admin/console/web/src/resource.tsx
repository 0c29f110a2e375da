// The generic list and editor for every kind in resources.ts.
import { fromJson, toJson, type DescField, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";
import { useEffect, useState } from "preact/hooks";
import { ApiError, rpc, seg } from "./api";
import type { FieldSpec, ResourceKind } from "./resources";
import { go, useSession, viewerNote } from "./session";
import { ErrorBanner, Fields, oneofCases, type FormValue, type Row } from "./widgets";

type Form = Record<string, FormValue>;

const fieldDesc = (schema: DescMessage, name: string): DescField => {
  const f = schema.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name} in ${schema.typeName}`);
  return f;
};

/** Turns a stored resource (protojson) into the form's values. */
function toForm(kind: ResourceKind, json: JsonObject): Form {
  const form: Form = {};
  for (const spec of kind.fields) {
    const f = fieldDesc(kind.schema, spec.name);
    const v = json[f.jsonName];
    switch (spec.kind) {
      case "strings":
        form[spec.name] = Array.isArray(v) ? v.join("\n") : "";
        break;
      case "oneofs":
        form[spec.name] = Array.isArray(v)
          ? v.map((o) => {
              const [k, val] = Object.entries(o as JsonObject)[0] ?? ["", ""];
              return { case: k, value: typeof val === "boolean" ? "" : String(val) };
            })
          : [];
        break;
      case "message":
        form[spec.name] = Object.fromEntries(Object.entries((v as JsonObject) ?? {}).map(([k, x]) => [k, String(x)]));
        break;
      case "enum":
        form[spec.name] = typeof v === "string" ? v : (f.enum?.values[1]?.name ?? "");
        break;
      case "bool":
        form[spec.name] = v === true;
        break;
      default:
        form[spec.name] = v === undefined || v === null ? "" : String(v);
    }
  }
  return form;
}

/** Turns the form into protojson; empty values are left out. */
function fromForm(kind: ResourceKind, form: Form): JsonObject {
  const out: JsonObject = {};
  for (const spec of kind.fields) {
    const f = fieldDesc(kind.schema, spec.name);
    const v = form[spec.name];
    switch (spec.kind) {
      case "strings": {
        const list = String(v ?? "")
          .split(/[\n,]/)
          .map((s) => s.trim())
          .filter(Boolean);
        if (list.length) out[f.jsonName] = list;
        break;
      }
      case "oneofs": {
        const cases = oneofCases(f);
        const list = ((v as Row[]) ?? [])
          .filter((r) => r.case)
          .map((r) => {
            const c = cases.find((x) => x.jsonName === r.case);
            return { [r.case]: c?.fieldKind === "scalar" && c.scalar === 8 /* bool */ ? true : r.value } as JsonObject;
          });
        if (list.length) out[f.jsonName] = list;
        break;
      }
      case "message": {
        const m = Object.fromEntries(Object.entries((v as Record<string, string>) ?? {}).filter(([, x]) => x.trim() !== ""));
        if (Object.keys(m).length) out[f.jsonName] = m;
        break;
      }
      case "bool":
        if (v === true) out[f.jsonName] = true;
        break;
      default:
        if (typeof v === "string" && v.trim() !== "") out[f.jsonName] = v.trim();
    }
  }
  return out;
}

/** Lists every resource of a kind, following pages. */
async function listAll(kind: ResourceKind): Promise<Message[]> {
  const items: Message[] = [];
  let token = "";
  do {
    const resp = await rpc(kind.list, "GET", kind.path, { query: { pageSize: 1000, pageToken: token } });
    items.push(...kind.items(resp));
    token = (resp as Message & { nextPageToken: string }).nextPageToken;
  } while (token);
  return items;
}

export function ResourceList({ kind, flash }: { kind: ResourceKind; flash?: string }) {
  const { canWrite } = useSession();
  const [items, setItems] = useState<Message[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [note, setNote] = useState(flash ?? "");
  const load = () =>
    listAll(kind)
      .then((xs) => {
        setItems(xs);
        setError(null);
      })
      .catch(setError);
  useEffect(() => {
    setItems(null);
    setNote(flash ?? "");
    void load();
  }, [kind.id, flash]);

  const remove = async (item: Message) => {
    setConfirm(null);
    try {
      await rpc(kind.deleted, "DELETE", `${kind.path}/${seg(kind.key(item))}`, { query: { etag: kind.etag(item) } });
      setNote(`Deleted ${kind.singular} ${kind.key(item)}.`);
      setError(null);
    } catch (e) {
      setError(e);
    }
    void load();
  };

  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">{kind.title}</h1>
        <button type="button" class="primary" disabled={!canWrite} title={canWrite ? "" : viewerNote} onClick={() => go(`#/${kind.id}/new`)}>
          New {kind.singular}
        </button>
      </header>
      {note && (
        <p class="flash" role="status">
          {note}
        </p>
      )}
      <ErrorBanner error={error} />
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No {kind.title.toLowerCase()} yet.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              {kind.columns.map((c) => (
                <th scope="col">{c.label}</th>
              ))}
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => {
              const key = kind.key(item);
              return (
                <tr key={key} data-key={key}>
                  {kind.columns.map((c, i) => (i === 0 ? <th scope="row">{c.value(item)}</th> : <td>{c.value(item)}</td>))}
                  <td class="actions">
                    <a href={`#/${kind.id}/edit/${seg(key)}`} class="button">
                      {canWrite ? "Edit" : "View"}
                    </a>
                    {confirm === key ? (
                      <>
                        <button type="button" class="danger" onClick={() => void remove(item)}>
                          Really delete {key}
                        </button>
                        <button type="button" onClick={() => setConfirm(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <button type="button" class="danger" disabled={!canWrite} title={canWrite ? "" : viewerNote} onClick={() => setConfirm(key)}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ResourceEditor({ kind, itemKey }: { kind: ResourceKind; itemKey?: string }) {
  const { canWrite } = useSession();
  const creating = itemKey === undefined;
  const keySpec = kind.fields.find((f) => f.key) as FieldSpec;
  const [form, setForm] = useState<Form | null>(creating ? toForm(kind, kind.template as JsonObject) : null);
  const [etag, setEtag] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<Message | null>(null);
  const [busy, setBusy] = useState(false);

  const loadCurrent = async (): Promise<Message | undefined> => {
    const resp = await rpc(kind.get, "GET", `${kind.path}/${seg(itemKey ?? "")}`);
    return kind.item(resp);
  };
  useEffect(() => {
    if (creating) return;
    loadCurrent()
      .then((item) => {
        if (!item) return;
        setForm({ ...toForm(kind, toJson(kind.schema, item) as JsonObject), [keySpec.name]: kind.key(item) });
        setEtag(kind.etag(item));
      })
      .catch(setError);
  }, [kind.id, itemKey]);

  if (form === null) {
    return (
      <section>
        <ErrorBanner error={error} />
        <p class="muted">Loading…</p>
      </section>
    );
  }

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const json = fromForm(kind, form);
      // Parse locally first: a wrong type ("30 seconds") is named before
      // anything is sent.
      let msg: Message;
      try {
        msg = fromJson(kind.schema, json);
      } catch (e) {
        throw new ApiError(400, 3, `${kind.singular}: ${(e as Error).message}`);
      }
      const payload = toJson(kind.schema, msg) as JsonObject;
      if (creating) {
        await rpc(kind.created, "POST", kind.path, { body: payload });
        go(`#/${kind.id}?saved=${seg(String(json[fieldDesc(kind.schema, keySpec.name).jsonName] ?? ""))}`);
      } else {
        payload.etag = etag;
        // Every field the form shows is replaced by the form's, cleared ones
        // too: the mask names them all (grpc-gateway would otherwise derive
        // it from the keys present). Fields the form does not show are left
        // alone, so a field added to the API is never cleared by an edit here.
        const mask = kind.fields
          .filter((spec) => spec.name !== keySpec.name)
          .map((spec) => fieldDesc(kind.schema, spec.name).jsonName)
          .join(",");
        await rpc(kind.updated, "PATCH", `${kind.path}/${seg(itemKey ?? "")}`, { body: payload as JsonValue, query: { updateMask: mask } });
        go(`#/${kind.id}?saved=${seg(itemKey ?? "")}`);
      }
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.status === 409 && !creating) {
        // Someone else wrote first: show what is stored now instead of
        // overwriting it.
        setConflict((await loadCurrent().catch(() => undefined)) ?? null);
      }
    } finally {
      setBusy(false);
    }
  };

  const fieldError = error instanceof ApiError && error.status === 400 ? error : null;
  const errorField = fieldError?.field?.replace(new RegExp(`^${kind.singular}\\.`), "").replace(/[.[].*$/, "") ?? null;
  const known = errorField !== null && kind.fields.some((f) => f.name === errorField);

  return (
    <section aria-labelledby="view-title">
      <header class="view-head">
        <h1 id="view-title">{creating ? `New ${kind.singular}` : `${canWrite ? "Edit" : "View"} ${kind.singular} ${itemKey}`}</h1>
        <a href={`#/${kind.id}`} class="button">
          Back to {kind.title.toLowerCase()}
        </a>
      </header>
      {(!fieldError || !known) && <ErrorBanner error={error} />}
      {conflict && (
        <div class="conflict" role="alert" aria-labelledby="conflict-title">
          <h2 id="conflict-title">Changed by someone else</h2>
          <p>
            Your change was not saved: the {kind.singular} was changed since you opened it (your version {etag}, now {kind.etag(conflict)}). This is what is stored now:
          </p>
          <pre class="current">{JSON.stringify(toJson(kind.schema, conflict), null, 2)}</pre>
          <button
            type="button"
            onClick={() => {
              setForm(toForm(kind, toJson(kind.schema, conflict) as JsonObject));
              setEtag(kind.etag(conflict));
              setConflict(null);
              setError(null);
            }}
          >
            Discard my changes and edit the current version
          </button>
        </div>
      )}
      <form onSubmit={submit} novalidate>
        <fieldset disabled={!canWrite || busy}>
          <Fields
            schema={kind.schema}
            specs={kind.fields}
            form={form}
            creating={creating}
            onChange={(name, v) => setForm({ ...form, [name]: v })}
            errorField={known ? errorField : null}
            errorText={fieldError?.message ?? ""}
          />
          <div class="form-actions">
            <button type="submit" class="primary" title={canWrite ? "" : viewerNote}>
              {creating ? `Create ${kind.singular}` : "Save changes"}
            </button>
          </div>
        </fieldset>
      </form>
    </section>
  );
}
