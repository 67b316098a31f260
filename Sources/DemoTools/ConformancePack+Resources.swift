import MCPCore
import ToolSDK

/// Resources, the resource template, prompts and completions of the conformance pack.
extension ConformancePack {
    static var resources: [Resource] {
        [
            Resource(uri: "test://static-text", name: "static-text", title: "Static Text Resource",
                     description: "A static text resource for testing", mimeType: "text/plain",
                     contents: .text("This is the content of the static text resource.")),
            Resource(uri: "test://static-binary", name: "static-binary", title: "Static Binary Resource",
                     description: "A static binary resource (image) for testing", mimeType: "image/png",
                     contents: .blob(imageBase64)),
            // Subscribable; like the reference it never actually changes.
            Resource(uri: "test://watched-resource", name: "watched-resource", title: "Watched Resource",
                     description: "A resource that auto-updates every 3 seconds", mimeType: "text/plain",
                     contents: .text("Watched resource content")),
            Resource(uri: "test://stateless-static-text", name: "Stateless Static Text",
                     description: "A static text resource served on the draft path", mimeType: "text/plain",
                     availableIn: .modern, contents: .text("Static text content from the stateless draft path.")),
        ]
    }

    static let template = ResourceTemplate(
        uriTemplate: "test://template/{id}/data", name: "template", title: "Resource Template",
        description: "A resource template with parameter substitution", mimeType: "application/json",
        complete: { c in CompletionResult.matching(["1", "2", "3", "123"], prefix: c.argumentValue) }
    ) { read in
        let id = read.variables["id"] ?? ""
        let data = JSONValue.quote("Data for ID: " + id)
        let body = #"{"id":\#(JSONValue.quote(id)),"templateTest":true,"data":\#(data)}"#
        return [.text(read.uri, body, mimeType: "application/json")]
    }

    static var prompts: [Prompt] {
        [simplePrompt, promptWithArguments, promptWithEmbeddedResource, promptWithImage, mrtrPrompt]
    }

    static let simplePrompt = Prompt(
        name: "test_simple_prompt", title: "Simple Test Prompt", description: "A simple prompt without arguments"
    ) { _ in PromptResult(messages: [.user("This is a simple prompt for testing.")]) }

    static let promptWithArguments = Prompt(
        name: "test_prompt_with_arguments", title: "Prompt With Arguments",
        description: "A prompt with required arguments",
        arguments: [PromptArgument("arg1", description: "First test argument", required: true),
                    PromptArgument("arg2", description: "Second test argument", required: true)],
        complete: { c in
            let candidates = c.argumentName == "arg1" ? ["test", "testValue1", "test-arg-1"]
                                                      : ["testValue2", "test-arg-2"]
            return CompletionResult.matching(candidates, prefix: c.argumentValue)
        }
    ) { p in PromptResult(messages: [.user("Prompt with arguments: arg1='\(p["arg1"])', arg2='\(p["arg2"])'")]) }

    static let promptWithEmbeddedResource = Prompt(
        name: "test_prompt_with_embedded_resource", title: "Prompt With Embedded Resource",
        description: "A prompt that includes an embedded resource",
        arguments: [PromptArgument("resourceUri", description: "URI of the resource to embed", required: true)]
    ) { p in
        PromptResult(messages: [
            .user(.resource(.text(p["resourceUri"], "Embedded resource content for testing."))),
            .user("Please process the embedded resource above."),
        ])
    }

    static let promptWithImage = Prompt(
        name: "test_prompt_with_image", title: "Prompt With Image", description: "A prompt that includes image content"
    ) { _ in
        PromptResult(messages: [.user(.image(base64: imageBase64, mimeType: "image/png")),
                                .user("Please analyze the image above.")])
    }

    static let mrtrPrompt = Prompt(
        name: "test_input_required_result_prompt", description: "MRTR: prompt that requires elicitation input",
        availableIn: .modern
    ) { p in
        let r = try await p.elicit(key: "user_context", message: "What context should the prompt use?",
                                   schema: schema(["context": string()], required: ["context"]))
        return PromptResult(messages: [.user("Prompt with context: \(r.string("context") ?? "")")])
    }
}
